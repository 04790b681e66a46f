"""metrics: top-k, confusion matrix and per-class precision/recall against direct counts."""

import numpy as np
import pytest

from convlens.training.metrics import (
    accuracy,
    binary_report,
    classification_report,
    confusion_matrix,
    precision_recall_f1,
    regression_report,
    top_k_accuracy,
)


def _scores(n=300, k=7, seed=0):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((n, k))
    y = rng.integers(0, k, n)
    scores[np.arange(n)[: n // 2], y[: n // 2]] += 1.5  # better than chance, not perfect
    return scores, y


def test_confusion_matrix_counts_every_pair():
    scores, y = _scores()
    pred = scores.argmax(axis=1)
    cm = confusion_matrix(y, pred, 7)
    direct = np.zeros((7, 7), dtype=np.int64)
    for t, p in zip(y, pred):
        direct[t, p] += 1
    assert cm.dtype == np.int64 and np.array_equal(cm, direct) and cm.sum() == len(y)
    # a class that never occurs still gets its row and column
    assert confusion_matrix(np.array([0, 0]), np.array([0, 1]), 4).shape == (4, 4)


def test_confusion_matrix_refuses_labels_beyond_the_classes():
    with pytest.raises(ValueError, match=r"expected labels in \[0, 2\], received labels in \[0, 3\]"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)
    with pytest.raises(ValueError, match=r"received labels in \[-1, 1\]"):
        confusion_matrix(np.array([0, -1]), np.array([0, 1]), 3)


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_top_k_accuracy_matches_a_direct_count(k):
    scores, y = _scores()
    direct = 0
    for row, label in zip(scores, y):
        ranked = sorted(range(len(row)), key=lambda j: -row[j])
        direct += label in ranked[:k]
    assert top_k_accuracy(scores, y, k) == pytest.approx(direct / len(y))
    if k == 1:
        assert top_k_accuracy(scores, y, 1) == accuracy(scores, y)
    if k == 7:
        assert top_k_accuracy(scores, y, 7) == 1.0


def test_top_k_ties_count_for_the_true_class():
    scores = np.array([[1.0, 1.0, 1.0, 0.0]])
    assert top_k_accuracy(scores, np.array([2]), 1) == 1.0  # nothing scores strictly higher
    assert top_k_accuracy(scores, np.array([3]), 3) == 0.0
    with pytest.raises(ValueError, match=r"expected 1 <= k <= 4 \(the number of classes\), received k=5"):
        top_k_accuracy(scores, np.array([0]), 5)


def test_precision_recall_f1_match_direct_counts():
    scores, y = _scores(k=5, seed=1)
    pred = scores.argmax(axis=1)
    stats = precision_recall_f1(confusion_matrix(y, pred, 5))
    for c in range(5):
        tp = np.sum((pred == c) & (y == c))
        precision, recall = tp / np.sum(pred == c), tp / np.sum(y == c)
        assert stats["precision"][c] == pytest.approx(precision)
        assert stats["recall"][c] == pytest.approx(recall)
        assert stats["f1"][c] == pytest.approx(2 * precision * recall / (precision + recall))
        assert stats["support"][c] == np.sum(y == c)
    try:  # an independent implementation when it is installed (mlxtend brings it along)
        from sklearn.metrics import precision_recall_fscore_support
    except ImportError:  # pragma: no cover
        return
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=range(5), zero_division=0)
    assert np.allclose(stats["precision"], p) and np.allclose(stats["recall"], r)
    assert np.allclose(stats["f1"], f) and np.array_equal(stats["support"], s)


def test_a_class_never_predicted_has_precision_zero_not_nan():
    stats = precision_recall_f1(confusion_matrix(np.array([0, 1, 2]), np.array([0, 0, 0]), 3))
    assert stats["precision"].tolist() == [1 / 3, 0.0, 0.0] and stats["recall"].tolist() == [1.0, 0.0, 0.0]
    assert np.isfinite(stats["f1"]).all()


def test_classification_report_is_json_ready_and_consistent():
    scores, y = _scores(n=50, k=3)
    report = classification_report(scores, y, class_names=("cat", "dog", "cow"), top_k=(2, 5))
    assert set(report) == {"accuracy", "top_k_accuracy", "per_class", "confusion_matrix"}
    assert list(report["top_k_accuracy"]) == ["2"]  # top-5 of 3 classes is always 1: left out
    assert [c["class"] for c in report["per_class"]] == ["cat", "dog", "cow"]
    cm = np.array(report["confusion_matrix"])
    assert report["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
    assert all(type(v) in (int, float, str) for c in report["per_class"] for v in c.values())
    with pytest.raises(ValueError, match="expected 3 class names \\(one per output\\), received 2"):
        classification_report(scores, y, class_names=("a", "b"))


def test_binary_report_thresholds_logits_at_zero():
    logits = np.array([[2.0], [-1.0], [0.5], [-3.0], [0.1]])
    targets = np.array([[1.0], [1.0], [0.0], [0.0], [1.0]])
    report = binary_report(logits, targets)
    # predicted positive: rows 0, 2, 4; true positive: rows 0, 1, 4
    assert report["confusion_matrix"] == [[1, 1], [1, 2]]
    assert report["accuracy"] == pytest.approx(3 / 5)
    assert report["precision"] == pytest.approx(2 / 3) and report["recall"] == pytest.approx(2 / 3)
    assert report["positives"] == 3
    probabilities = 1 / (1 + np.exp(-logits))
    assert binary_report(probabilities, targets, threshold=0.5) == report


def test_regression_report():
    pred, target = np.array([[1.0], [2.0], [4.0]]), np.array([[1.0], [3.0], [2.0]])
    report = regression_report(pred, target)
    assert report["mae"] == pytest.approx(1.0) and report["rmse"] == pytest.approx(np.sqrt(5 / 3))
    with pytest.raises(ValueError, match=r"one shape, received \(3, 1\) and \(3,\)"):
        regression_report(pred, target[:, 0])
