"""Dataset: signals, images and volumes; classification, binary and regression targets."""

import numpy as np
import pytest

from convlens.data import Dataset


def _x(n, shape=(1, 12)):
    return np.zeros((n, *shape), np.float32)


@pytest.mark.parametrize(
    ("shape", "kind", "text"),
    [
        ((1, 40), "signals", "1x40"),
        ((3, 8, 8), "images", "3x8x8"),
        ((1, 4, 8, 8), "volumes", "1x4x8x8"),
    ],
)
def test_any_rank_from_three_up(shape, kind, text):
    ds = Dataset(_x(6, shape), np.arange(6) % 3, _x(2, shape), np.arange(2), ("a", "b", "c"), "d")
    assert ds.kind == kind and ds.input_shape == shape
    assert ds.summary() == f"d: 6 train / 2 test {kind} of {text}, 3 classes"


def test_regression_targets_one_or_several():
    ds = Dataset(
        _x(5),
        np.linspace(0, 1, 5, dtype=np.float32),
        _x(2),
        np.zeros(2, np.float32),
        (),
        "r",
        task="regression",
        target_names=("brightness",),
    )
    assert ds.num_outputs == 1 and ds.num_classes == 0
    assert ds.summary() == "r: 5 train / 2 test signals of 1x12, regression on 1 target (brightness)"
    multi = Dataset(
        _x(5), np.zeros((5, 3), np.float32), _x(2), np.zeros((2, 3), np.float32), (), "m", task="regression"
    )
    assert multi.num_outputs == 3 and multi.subset(train=2).y_train.shape == (2, 3)


def test_binary_task():
    ds = Dataset(_x(4), np.array([0, 1, 0, 1]), _x(2), np.array([1, 0]), ("no", "yes"), "b", task="binary")
    assert ds.num_outputs == 1 and ds.num_classes == 2
    assert ds.summary().endswith("binary: 1 = 'yes', 0 = 'no'")
    with pytest.raises(ValueError, match="expected 2 class names for a binary task"):
        Dataset(_x(2), np.array([0, 1]), _x(1), np.array([0]), ("a", "b", "c"), "b", task="binary")


def test_target_checks():
    with pytest.raises(ValueError, match=r"expected float regression targets in y_train, received int64"):
        Dataset(_x(2), np.arange(2), _x(1), np.zeros(1, np.float32), (), "r", task="regression")
    y = np.array([0.0, np.nan], np.float32)
    with pytest.raises(ValueError, match="y_train holds 1 non-finite targets"):
        Dataset(_x(2), y, _x(1), np.zeros(1, np.float32), (), "r", task="regression")
    with pytest.raises(
        ValueError, match=r"expected train and test targets of one shape, received \(2,\) and \(\)"
    ):
        Dataset(
            _x(2), np.zeros((2, 2), np.float32), _x(1), np.zeros(1, np.float32), (), "r", task="regression"
        )
    with pytest.raises(ValueError, match="received float32 \\(real-valued targets need task='regression'\\)"):
        Dataset(_x(2), np.zeros(2, np.float32), _x(1), np.zeros(1, int), ("a",), "c")
    with pytest.raises(ValueError, match=r"expected task in \('classification', 'binary', 'regression'\)"):
        Dataset(_x(2), np.zeros(2, int), _x(1), np.zeros(1, int), ("a",), "c", task="ranking")


def test_from_arrays_splits_and_infers_the_task():
    x = np.arange(20, dtype=np.float32).reshape(20, 1, 1, 1)
    ds = Dataset.from_arrays(x, np.arange(20) % 4, name="c", test_fraction=0.25, seed=0)
    assert ds.task == "classification" and ds.class_names == ("0", "1", "2", "3")
    assert sorted(np.bincount(ds.y_test, minlength=4)) == [1, 1, 1, 2]  # stratified: 1.25 per class
    np.testing.assert_array_equal(ds.x_train[:, 0, 0, 0].astype(int) % 4, ds.y_train)  # pairs kept
    reg = Dataset.from_arrays(x, x[:, 0, 0, 0] / 20, name="r", test_fraction=0.25)
    assert reg.task == "regression" and reg.class_names == ()


def test_replace_checks_again_and_rejects_unknown_fields():
    ds = Dataset(_x(2), np.arange(2), _x(1), np.zeros(1, int), ("a", "b"), "c")
    assert ds.replace(name="other").name == "other"
    with pytest.raises(TypeError, match=r"Dataset has no field\(s\) \['colour'\]"):
        ds.replace(colour="red")
    with pytest.raises(ValueError, match=r"expected labels in \[0, 0\]"):
        ds.replace(class_names=("a",))


def _tokens(n, length=5, vocab=4):
    return np.arange(n * length, dtype=np.int64).reshape(n, length) % vocab


VOCAB = ("<pad>", "<unk>", "a", "b")


def test_token_ids_with_a_vocabulary():
    ds = Dataset(_tokens(6), np.arange(6) % 2, _tokens(2), np.arange(2), ("x", "y"), "t", vocabulary=VOCAB)
    assert ds.kind == "tokens" and ds.input_shape == (5,) and ds.vocab_size == 4
    assert ds.summary() == "t: 6 train / 2 test tokens of 5 (vocabulary of 4), 2 classes"
    assert ds.subset(train=3).vocabulary == VOCAB and ds.replace(name="u").vocab_size == 4
    split = Dataset.from_arrays(_tokens(10), np.arange(10) % 2, name="s", vocabulary=VOCAB)
    assert split.kind == "tokens" and split.vocabulary == VOCAB and len(split.y_test) == 2


def test_token_checks():
    with pytest.raises(ValueError, match=r"\(N, L\) token ids need a vocabulary"):
        Dataset(_tokens(2), np.arange(2), _tokens(1), np.arange(1), ("x", "y"), "t")
    with pytest.raises(ValueError, match=r"expected token ids in \[0, 2\] \(3 vocabulary entries\), received x_train in \[0, 3\]"):
        Dataset(_tokens(2), np.arange(2), _tokens(1), np.arange(1), ("x", "y"), "t", vocabulary=VOCAB[:3])
    with pytest.raises(ValueError, match=r"or \(N, L\) integer token ids; received \(2, 5\) float32 \(a signal needs its channel axis"):
        Dataset(np.zeros((2, 5), np.float32), np.arange(2), _x(1), np.arange(1), ("x", "y"), "t")
    with pytest.raises(ValueError, match=r"a vocabulary belongs to \(N, L\) token ids, received signals"):
        Dataset(_x(2), np.arange(2), _x(1), np.arange(1), ("x", "y"), "t", vocabulary=VOCAB)
    with pytest.raises(ValueError, match=r"expected train and test inputs of one shape, received \(5,\) and \(3,\)"):
        Dataset(_tokens(2), np.arange(2), _tokens(1, 3), np.arange(1), ("x", "y"), "t", vocabulary=VOCAB)
