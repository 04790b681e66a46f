"""The page's words in English and Korean. The words the explain trace already has (forward,
backward, input, output, weight, bias, logits, softmax, ...) come from
:mod:`convlens.inspect.explain.labels`, so the page and ``convlens explain --lang ko`` say
the same thing; only the page's own words are here."""

from __future__ import annotations

from convlens.inspect.explain.labels import LANGUAGES, labels

PAGE: dict[str, dict[str, str]] = {
    "en": {
        "app_title": "convlens explorer", "model": "Model", "input_title": "Input",
        "draw_hint": "Draw a digit (white on black)", "clear": "Clear", "upload": "Upload",
        "example": "Example", "as_seen": "As the model sees it", "prediction": "Prediction",
        "round_trip": "round trip {ms} ms", "network": "The network", "params": "params",
        "rf": "receptive field", "whole_input": "whole input", "filters": "First layer's filters",
        "cell_title": "One number", "click_hint": "Click a cell of a feature map.",
        "value": "value", "window": "window of the previous layer", "kernel": "kernel",
        "products": "products", "formula_size": "output size", "winner": "winner at input",
        "cut": "ReLU cut this value (x ≤ 0 → 0)", "kept": "ReLU kept this value (x > 0)",
        "cut_count": "{count} of {total} values of this map were cut", "why": "Why this answer",
        "method": "method", "class": "class", "predicted": "predicted", "show": "Show",
        "backward_title": "Backward", "label": "label", "learning_rate": "learning rate",
        "run_step": "One SGD step", "loss_after": "loss after the step",
        "grad_maps": "gradient maps dL/dy", "changes": "what the step changes",
        "training": "Training", "status": "status", "curves": "curves",
        "confusion": "confusion matrix", "no_run": "This model has no run folder.",
        "epoch": "epoch", "slice": "depth slice", "language": "한국어",
        "sum_bias": "sum of the products + bias", "mean_var": "running mean, variance",
        "before": "before", "after": "after", "grad": "gradient", "max_change": "largest change",
        "true_label": "true label", "explanation": "The step, narrated",
        "merge_inputs": "each input at this cell", "merge_concat": "copied from the one input it comes from",
    },
    "ko": {
        "app_title": "convlens 탐색기", "model": "모델", "input_title": "입력",
        "draw_hint": "숫자를 그려 보세요 (검은 바탕에 흰 글씨)", "clear": "지우기",
        "upload": "올리기", "example": "예제", "as_seen": "모델이 보는 입력",
        "prediction": "예측", "round_trip": "왕복 {ms} ms", "network": "네트워크",
        "params": "파라미터", "rf": "수용 영역", "whole_input": "입력 전체",
        "filters": "첫 레이어의 필터", "cell_title": "숫자 하나",
        "click_hint": "특성 맵의 칸을 눌러 보세요.", "value": "값",
        "window": "이전 레이어의 영역", "kernel": "커널", "products": "곱",
        "formula_size": "출력 크기", "winner": "선택된 입력 위치",
        "cut": "ReLU가 이 값을 0으로 만들었다 (x ≤ 0 → 0)",
        "kept": "ReLU가 이 값을 그대로 두었다 (x > 0)",
        "cut_count": "이 맵의 값 {total}개 중 {count}개가 0이 되었다", "why": "왜 이 답인가",
        "method": "방법", "class": "클래스", "predicted": "예측", "show": "보기",
        "backward_title": "역전파", "label": "정답 레이블", "learning_rate": "학습률",
        "run_step": "SGD 한 단계", "loss_after": "한 단계 후의 손실",
        "grad_maps": "기울기 맵 dL/dy", "changes": "한 단계가 바꾸는 것",
        "training": "학습", "status": "상태", "curves": "학습 곡선",
        "confusion": "혼동 행렬", "no_run": "이 모델에는 학습 기록 폴더가 없다.",
        "epoch": "에포크", "slice": "깊이 단면", "language": "English",
        "sum_bias": "곱의 합 + 편향", "mean_var": "이동 평균, 분산",
        "before": "학습 전", "after": "학습 후", "grad": "기울기", "max_change": "가장 큰 변화",
        "true_label": "정답", "explanation": "한 단계를 숫자로",
        "merge_inputs": "이 칸에서 각 입력의 값", "merge_concat": "이 칸이 온 입력에서 그대로 복사",
    },
}


def page_labels(lang: str) -> dict[str, str]:
    """Every word of the page in ``lang`` (``'en'`` or ``'ko'``): explain's, then the page's."""
    if lang not in LANGUAGES:
        raise ValueError(f"expected lang one of {', '.join(LANGUAGES)}, received {lang!r}")
    return {**labels(lang), **PAGE[lang]}
