"""The words of the explain trace, in English and Korean (``lang='ko'``, for the seeds' readers).

Korean wording follows seed 004's slides where they have it (순전파, 역전파, 가중치 업데이트,
"이미 모든 값이 0보다 크므로, 변경점은 없다"). Placeholders in braces are filled with numbers.
"""

from __future__ import annotations

EN: dict[str, str] = {
    "title": "One training step, explained with its numbers",
    "intro": "Model {model}; input x of shape {shape}; target {target}; loss {loss}; "
             "optimizer {optimizer}.",
    "big_model": "The model is large: arrays of more than {max_values} values are summarized "
                 "and only a few dot products are written out.",
    "forward": "1. Forward pass",
    "loss_section": "Softmax and cross-entropy",
    "loss_generic": "Loss",
    "backward": "2. Backward pass",
    "update": "3. Update",
    "compare": "4. Before and after",
    "layer": "Layer {name}: {desc}",
    "input": "input x",
    "output": "output y",
    "weight": "weight W",
    "bias": "bias b",
    "mask": "mask 1(x > 0)",
    "conv_formula": "y[o, i, j] = Σ_c Σ_u Σ_v W[o, c, u, v] · x_pad[c, i·s + u·d, j·s + v·d] + b[o]"
                    "   (s = {stride}, d = {dilation}, padding {padding})",
    "conv_slide": "The {k} kernel slides over the input; each output is the dot product of the "
                  "kernel with one window, plus the bias:",
    "conv_many": "{count:,} dot products of {terms:,} terms each ({filters} filters × "
                 "{positions} positions); the first one:",
    "conv_too_many_terms": "{count:,} dot products of {terms:,} terms each ({filters} filters × "
                           "{positions} positions).",
    "window_at": "output {pos}: window rows {rows}, cols {cols}",
    "window_at_1d": "output {pos}: window positions {rows}",
    "filter": "filter {o}",
    "dw_term": "{value} × window {where} {window}",
    "relu_formula": "a = max(0, x)",
    "relu_all_positive": "All values are positive: ReLU changes nothing.",
    "relu_zeroed": "{count:,} of {total:,} values are ≤ 0 and become 0.",
    "activation_formula": "{doc}",
    "pool_formula": "y = {kind} over each {k} window, stride {stride}",
    "pool_window": "window {pos} {values} → {kind} {value} at input {where}",
    "pool_many": "{count:,} windows.",
    "pool_kind_max": "max",
    "pool_kind_min": "min",
    "pool_kind_avg": "mean",
    "flatten": "Reshape {before} → {after}: the values are unchanged, laid out as one vector "
               "per example.",
    "linear_formula": "y = x · Wᵀ + b   (W has shape (out, in) = {shape})",
    "residual_formula": "y = body(x) + shortcut(x)",
    "generic_forward": "{type}: {before} → {after}",
    "logits": "scores z (logits)",
    "exp": "e to the power of each score:",
    "exp_shifted": "e^(z − max z) (shifted by the largest score: the same probabilities, no "
                   "overflow)",
    "sum": "sum",
    "softmax_formula": "p_k = e^(z_k) / Σ_j e^(z_j)",
    "probs": "probabilities p = softmax(z)",
    "ce_formula": "L = −Σ_k y_k · log p_k, averaged over the batch (N = {n})",
    "target": "target y",
    "loss_value": "loss L = {value}",
    "loss_generic_formula": "{doc}",
    "dz_formula": "dL/dz = (p − y) / N",
    "dz": "dL/dz",
    "dy": "dL/dy (from the layer above)",
    "dx": "dL/dx (passed to the layer below)",
    "dw": "dL/dW",
    "db": "dL/db",
    "linear_dw": "dL/dW = dL/dyᵀ · x   (each weight's gradient: the output gradient times the "
                 "input it multiplied)",
    "linear_db": "dL/db = Σ_n dL/dy",
    "linear_dx": "dL/dx = dL/dy · W",
    "conv_db": "dL/db[o] = Σ of dL/dy[o] over the batch and every position",
    "conv_dw": "The weight gradient is the correlation of the input with the output gradient: "
               "dL/dW[o, c, u, v] = Σ_n Σ_i Σ_j dL/dy[n, o, i, j] · x_pad[n, c, i·s + u·d, "
               "j·s + v·d]. Each output gradient multiplies the window it came from:",
    "conv_dw_zero": "The other output gradients are 0 and add nothing.",
    "conv_dx": "dL/dx: each output gradient sends the kernel, scaled by it, back onto its "
               "window; overlapping windows add up (a 'full' convolution of dL/dy with the "
               "flipped kernel).",
    "relu_back": "dL/dx = dL/dy · 1(x > 0)",
    "relu_back_all": "All inputs were positive in the forward pass: the gradient passes "
                     "unchanged.",
    "pool_back_max": "Each window's gradient goes to the input that won it in the forward pass "
                     "(the {kind}); the other inputs get 0.",
    "pool_back_route": "dL/dy{pos} = {value} → input {where}",
    "pool_back_avg": "Each window's gradient is shared equally by its {count} inputs.",
    "flatten_back": "Reshape the gradient back to {shape}.",
    "residual_back": "dL/dx = dL/dx through the body + dL/dx through the shortcut",
    "generic_back": "{type} passes dL/dy back as dL/dx.",
    "update_intro": "{optimizer}: every parameter moves against its gradient.",
    "sgd_rule": "w ← w − lr · g   (lr = {lr})",
    "sgd_momentum_rule": "v ← μ·v + (1 − dampening)·g (v = g on the first step);  "
                         "w ← w − lr · v   (lr = {lr}, μ = {momentum})",
    "sgd_nesterov_rule": "v ← μ·v + g;  w ← w − lr · (g + μ·v)   (lr = {lr}, μ = {momentum})",
    "weight_decay_rule": "with weight decay λ = {wd}: g ← g + λ·w first",
    "adam_rule": "m ← β₁·m + (1 − β₁)·g;  v ← β₂·v + (1 − β₂)·g²;  m̂ = m/(1 − β₁ᵗ);  "
                 "v̂ = v/(1 − β₂ᵗ);  w ← w − lr · m̂/(√v̂ + ε)   (lr = {lr}, β₁ = {b1}, "
                 "β₂ = {b2}, ε = {eps}, t = {t})",
    "generic_rule": "{optimizer}: see its documentation for the rule; before and after below.",
    "before": "before",
    "after": "after",
    "gradient": "gradient g",
    "change": "change",
    "state": "optimizer state {key}",
    "param": "parameter",
    "summary_line": "{stats}",
    "summarized": "(summarized: {stats})",
    "example_only": "(example 0 of {n})",
    "corner_tl": "top-left",
    "corner_tr": "top-right",
    "corner_bl": "bottom-left",
    "corner_br": "bottom-right",
    "max_changes": "largest change {value}",
    "node_inputs": "Reads {inputs}.",
    "fan_out": "{name} is read {n} times ({nodes}): by the chain rule its dL/dy is the sum of "
               "the gradients those reads send back.",
    "big_graph": "The model makes {n} layer calls, more than {max_layers}: each pass is shown "
                 "as one table, a row per call (explain(..., max_layers=) shows every layer).",
    "col_layer": "layer",
    "col_type": "type",
    "col_inputs": "reads",
}

KO: dict[str, str] = {
    "title": "학습 한 단계를 숫자로 따라가기",
    "intro": "모델 {model}; 입력 x의 크기 {shape}; 정답 레이블 {target}; 손실 함수 {loss}; "
             "옵티마이저 {optimizer}.",
    "big_model": "모델이 크므로 값이 {max_values}개보다 많은 배열은 요약하고, 합성곱 계산은 "
                 "일부만 보인다.",
    "forward": "1. 순전파",
    "loss_section": "Softmax와 Cross-Entropy",
    "loss_generic": "손실",
    "backward": "2. 역전파",
    "update": "3. 가중치 업데이트",
    "compare": "4. 최종 비교 (학습 전 / 학습 후)",
    "layer": "레이어 {name}: {desc}",
    "input": "입력 x",
    "output": "출력 y",
    "weight": "가중치 W",
    "bias": "편향 b",
    "mask": "마스크 1(x > 0)",
    "conv_formula": "y[o, i, j] = Σ_c Σ_u Σ_v W[o, c, u, v] · x_pad[c, i·s + u·d, j·s + v·d] + b[o]"
                    "   (s = {stride}, d = {dilation}, 패딩 {padding})",
    "conv_slide": "{k} 필터가 입력을 순회하며 합성곱 연산을 수행한다: 각 출력은 필터와 한 영역의 "
                  "내적에 편향을 더한 값이다.",
    "conv_many": "내적 {count:,}개, 각각 {terms:,}개 항 (필터 {filters}개 × 위치 {positions}개); "
                 "첫 번째:",
    "conv_too_many_terms": "내적 {count:,}개, 각각 {terms:,}개 항 (필터 {filters}개 × 위치 "
                           "{positions}개).",
    "window_at": "출력 {pos}: 영역 행 {rows}, 열 {cols}",
    "window_at_1d": "출력 {pos}: 영역 위치 {rows}",
    "filter": "필터 {o}",
    "dw_term": "{value} × 영역 {where} {window}",
    "relu_formula": "A_relu = max(0, Z)",
    "relu_all_positive": "이미 모든 값이 0보다 크므로, 변경점은 없다.",
    "relu_zeroed": "{total:,}개 중 {count:,}개가 0 이하이므로 0이 된다.",
    "activation_formula": "{doc}",
    "pool_formula": "y = 각 {k} 영역의 {kind}, stride {stride}",
    "pool_window": "영역 {pos} {values} → {kind} {value}, 입력 위치 {where}",
    "pool_many": "영역 {count:,}개.",
    "pool_kind_max": "최댓값",
    "pool_kind_min": "최솟값",
    "pool_kind_avg": "평균",
    "flatten": "{before} → {after}: 값은 그대로, 예제마다 1차원 벡터로 펼쳐준다.",
    "linear_formula": "Z = x · Wᵀ + b   (W의 크기 (출력, 입력) = {shape})",
    "residual_formula": "y = body(x) + shortcut(x)",
    "generic_forward": "{type}: {before} → {after}",
    "logits": "점수 z (logits)",
    "exp": "각 점수의 지수 e^z:",
    "exp_shifted": "e^(z − max z) (가장 큰 점수만큼 빼서 계산: 확률은 같고 overflow가 없다)",
    "sum": "합",
    "softmax_formula": "ŷ_k = e^(z_k) / Σ_j e^(z_j)",
    "probs": "최종 예측값 ŷ = softmax(z)",
    "ce_formula": "L = −Σ_k y_k · log ŷ_k, 배치 평균 (N = {n})",
    "target": "정답 y",
    "loss_value": "최종 손실 (Loss) L = {value}",
    "loss_generic_formula": "{doc}",
    "dz_formula": "dL/dZ = (ŷ − y) / N",
    "dz": "dL/dZ",
    "dy": "dL/dy (위 레이어에서 온 기울기)",
    "dx": "dL/dx (아래 레이어로 전달)",
    "dw": "가중치 기울기 dL/dW",
    "db": "편향 기울기 dL/db",
    "linear_dw": "가중치 기울기 dL/dW = dL/dyᵀ · x   (출력 기울기 × 그 가중치가 곱한 입력)",
    "linear_db": "편향 기울기 dL/db = Σ_n dL/dy",
    "linear_dx": "입력 기울기 dL/dx = dL/dy · W",
    "conv_db": "편향 기울기 dL/db[o] = 배치와 모든 위치에 대한 dL/dy[o]의 합",
    "conv_dw": "필터 가중치 기울기는 입력과 출력 기울기의 상관(correlation)이다: "
               "dL/dW[o, c, u, v] = Σ_n Σ_i Σ_j dL/dy[n, o, i, j] · x_pad[n, c, i·s + u·d, "
               "j·s + v·d]. 각 출력 기울기에 그 값을 만든 입력 영역을 곱해준다:",
    "conv_dw_zero": "나머지 출력 기울기는 0이므로 더해지는 것이 없다.",
    "conv_dx": "입력 기울기 dL/dx: 각 출력 기울기만큼 필터를 자기 영역에 되돌려 놓고, 겹치는 "
               "곳은 더한다 (dL/dy와 뒤집은 필터의 'full' 합성곱).",
    "relu_back": "dL/dZ = 1(Z > 0) · dL/dA",
    "relu_back_all": "순전파 시 입력이 모두 0보다 컸으므로, 기울기는 그대로 전달.",
    "pool_back_max": "각 영역의 기울기는 순전파 때 선택된 위치({kind})로만 간다; 나머지는 0.",
    "pool_back_route": "dL/dy{pos} = {value} → 입력 위치 {where}",
    "pool_back_avg": "각 영역의 기울기를 입력 {count}개가 똑같이 나눠 갖는다.",
    "flatten_back": "1D 벡터 형태의 기울기를 다시 {shape} 크기로 복원한다.",
    "residual_back": "dL/dx = body를 거친 dL/dx + shortcut을 거친 dL/dx",
    "generic_back": "{type}: dL/dy를 dL/dx로 전달한다.",
    "update_intro": "{optimizer}: 모든 파라미터를 기울기의 반대 방향으로 움직인다.",
    "sgd_rule": "W_new = W_old − η · dL/dW   (η = {lr})",
    "sgd_momentum_rule": "v ← μ·v + (1 − dampening)·g (첫 단계에서는 v = g);  "
                         "W ← W − η · v   (η = {lr}, μ = {momentum})",
    "sgd_nesterov_rule": "v ← μ·v + g;  W ← W − η · (g + μ·v)   (η = {lr}, μ = {momentum})",
    "weight_decay_rule": "weight decay λ = {wd}: 먼저 g ← g + λ·W",
    "adam_rule": "m ← β₁·m + (1 − β₁)·g;  v ← β₂·v + (1 − β₂)·g²;  m̂ = m/(1 − β₁ᵗ);  "
                 "v̂ = v/(1 − β₂ᵗ);  W ← W − η · m̂/(√v̂ + ε)   (η = {lr}, β₁ = {b1}, "
                 "β₂ = {b2}, ε = {eps}, t = {t})",
    "generic_rule": "{optimizer}: 규칙은 문서를 참고; 아래는 학습 전과 후의 값.",
    "before": "학습 전",
    "after": "학습 후",
    "gradient": "기울기 g",
    "change": "변화량",
    "state": "옵티마이저 상태 {key}",
    "param": "파라미터",
    "summary_line": "{stats}",
    "summarized": "(요약: {stats})",
    "example_only": "(예제 {n}개 중 0번)",
    "corner_tl": "Top-Left (왼쪽 위)",
    "corner_tr": "Top-Right (오른쪽 위)",
    "corner_bl": "Bottom-Left (왼쪽 아래)",
    "corner_br": "Bottom-Right (오른쪽 아래)",
    "max_changes": "가장 큰 변화량 {value}",
    "node_inputs": "입력: {inputs}.",
    "fan_out": "{name}의 출력은 {n}번 읽힌다 ({nodes}): 연쇄 법칙에 따라 dL/dy는 그 읽기들이 "
               "돌려보내는 기울기의 합이다.",
    "big_graph": "레이어 호출이 {n}번으로 {max_layers}번보다 많아, 각 전파를 호출마다 한 행인 "
                 "표 하나로 보인다 (explain(..., max_layers=)로 모든 레이어를 볼 수 있다).",
    "col_layer": "레이어",
    "col_type": "종류",
    "col_inputs": "입력",
}

LANGUAGES = {"en": EN, "ko": KO}


def labels(lang: str) -> dict[str, str]:
    """The label table for ``lang`` (``'en'`` or ``'ko'``)."""
    try:
        return LANGUAGES[lang]
    except KeyError:
        raise ValueError(
            f"lang must be one of {sorted(LANGUAGES)}, received {lang!r}"
        ) from None
