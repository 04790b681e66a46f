"""Confusion matrix and misclassified grid against direct counts."""

from __future__ import annotations

import re

import numpy as np
import pytest

import convlens as cl
from convlens.viz.diagnostics import (
    confusion_matrix,
    misclassified,
    plot_confusion_matrix,
    plot_misclassified,
    predict,
)


def test_confusion_matrix_equals_a_direct_count():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, 300)
    y_pred = np.where(rng.random(300) < 0.7, y_true, rng.integers(0, 5, 300))
    cm = confusion_matrix(y_true, y_pred)
    expected = np.zeros((5, 5), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        expected[t, p] += 1
    np.testing.assert_array_equal(cm, expected)
    assert cm.dtype == np.int64 and cm.sum() == 300
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(y_true, minlength=5))
    assert confusion_matrix(np.array([0, 1]), np.array([0, 1]), num_classes=4).shape == (4, 4)


def test_confusion_matrix_refuses_bad_labels():
    with pytest.raises(ValueError, match=r"expected labels in \[0, 1\], received labels in \[0, 2\]"):
        confusion_matrix(np.array([0, 2]), np.array([0, 1]), num_classes=2)
    with pytest.raises(ValueError, match=r"expected y_true and y_pred of one shape, received \(2,\) and \(1,\)"):
        confusion_matrix(np.array([0, 1]), np.array([0]))
    with pytest.raises(ValueError, match=r"expected integer class indices as y_true, received dtype float64"):
        confusion_matrix(np.array([0.5]), np.array([0]))


def test_confusion_figure_annotates_each_cell():
    cm = np.array([[5, 1, 0], [2, 7, 0], [0, 0, 3]])
    fig = plot_confusion_matrix(cm, ["cat", "dog", "emu"])
    ax = fig.axes[0]
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert cells == {(i, j): str(cm[i, j]) for i in range(3) for j in range(3)}
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "emu"]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert ax.get_title() == "confusion matrix: 18 examples, accuracy 83.33%"
    shares = plot_confusion_matrix(cm, normalize=True).axes[0]
    assert shares.texts[1].get_text() == f"{1 / 6:.2f}"  # row 0: 1 of 6 examples
    assert any(a.get_label() == "<colorbar>" for a in fig.axes)


def _title_index_pred_true(title: str) -> tuple[int, str, str]:
    m = re.fullmatch(r"#(\d+): pred (\S+), true (\S+)", title)
    assert m, title
    return int(m[1]), m[2], m[3]


def test_misclassified_grid_lists_exactly_the_wrong_examples():
    rng = np.random.default_rng(1)
    x = rng.random((50, 1, 6, 6))
    y_true = rng.integers(0, 3, 50)
    y_pred = y_true.copy()
    wrong = np.array([3, 8, 9, 21, 40])
    y_pred[wrong] = (y_true[wrong] + 1) % 3
    np.testing.assert_array_equal(misclassified(y_true, y_pred), wrong)
    names = ("zero", "one", "two")
    fig = plot_misclassified(x, y_true, y_pred, names)
    panels = [ax for ax in fig.axes if ax.images]
    listed = [_title_index_pred_true(ax.get_title()) for ax in panels]
    assert [i for i, _, _ in listed] == wrong.tolist()
    for (i, pred, true), ax in zip(listed, panels):
        assert pred == names[y_pred[i]] and true == names[y_true[i]] and pred != true
        np.testing.assert_array_equal(ax.images[0].get_array(), x[i, 0].astype(np.float64))
    assert fig._suptitle.get_text() == "misclassified examples: all 5 (of 50)"

    few = plot_misclassified(x, y_true, y_pred, max_examples=2)
    assert [_title_index_pred_true(ax.get_title())[0] for ax in few.axes if ax.images] == [3, 8]
    assert "first 2 of 5" in few._suptitle.get_text()
    none = plot_misclassified(x, y_true, y_true)
    assert "no misclassified examples among 50" in [t.get_text() for t in none.axes[0].texts]


def test_predict_is_the_argmax_in_eval_mode():
    cl.manual_seed(0)
    model = cl.Sequential(cl.Flatten(), cl.Dropout(0.9), cl.Linear(16, 4))
    model.train()
    x = np.random.default_rng(2).random((7, 1, 4, 4)).astype(np.float32)
    pred = predict(model, x, batch_size=3)
    assert model.training and model[1].training
    model.eval()
    np.testing.assert_array_equal(pred, model(x).argmax(axis=1))
