"""Label checks that run before any training time is spent."""

import numpy as np
import pytest

import convlens as cl
from convlens.training import check_labels, num_outputs


def test_accepts_labels_in_range():
    check_labels(np.array([0, 9, 3]), 10)
    check_labels(np.array([], dtype=np.int64), 10)


def test_label_at_or_above_the_number_of_outputs():
    with pytest.raises(
        ValueError,
        match=r"^training labels out of range: the model has 10 outputs, so expected labels in "
        r"\[0, 9\], received 10 \(labels span \[1, 10\]\)\. Build the model with 11 outputs "
        r"\(num_classes=11\) or fix the labels\.$",
    ):
        check_labels(np.array([1, 10, 4]), 10, "training labels")


def test_negative_label():
    with pytest.raises(ValueError, match=r"received -1 .* labels must not be negative"):
        check_labels(np.array([0, -1, 2]), 10)


def test_float_labels_and_wrong_shape():
    with pytest.raises(ValueError, match="expected integer class indices as labels, received dtype float32"):
        check_labels(np.array([0.0, 1.0], dtype=np.float32), 10)
    with pytest.raises(ValueError, match=r"expected labels of shape \(N,\), received \(2, 1\)"):
        check_labels(np.array([[0], [1]]), 10)


def test_num_outputs_probes_in_eval_mode_and_restores_the_mode():
    cl.manual_seed(0)
    model = cl.Sequential(cl.Flatten(), cl.Dropout(0.5), cl.Linear(4, 7))
    model.train()
    assert num_outputs(model, np.zeros((5, 1, 2, 2), np.float32)) == 7
    assert model.training is True


def test_num_outputs_wants_class_scores():
    text = cl.models.get_model("text_cnn", vocab_size=10, num_classes=7)
    assert num_outputs(text, np.zeros((3, 12), np.int64)) == 7  # token ids (N, L)
    model = cl.Sequential(cl.Identity())
    with pytest.raises(ValueError, match=r"class scores of shape \(N, K\), received \(1, 1, 2, 2\)"):
        num_outputs(model, np.zeros((3, 1, 2, 2), np.float32))
