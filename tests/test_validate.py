"""The input and gradient checks every layer and loss shares (convlens/validate.py), run over
every layer of tests/layer_catalogue.py and every loss."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from layer_catalogue import LAYERS, build, valid_input

import convlens as cl
from convlens.functional.conv_arithmetic import output_shape
from convlens.layers.module import _LAYER_CLASSES
from convlens.validate import as_array, check_grad

NAMES = sorted(LAYERS)


def test_the_catalogue_holds_every_layer_class():
    public = {name for name, cls in _LAYER_CLASSES.items()
              if cls.__module__.startswith("convlens.layers.") and not name.startswith("_")
              and getattr(cls, "num_inputs", 1) == 1}
    missing = sorted(public - set(LAYERS))
    assert not missing, f"add these layers to tests/layer_catalogue.py: {missing}"


class _ArrayLike:
    """An object that is not an ndarray but converts to one (as xarray, pandas, JAX do)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __array__(self, dtype=None, copy=None):
        return self.array if dtype is None else self.array.astype(dtype)


@pytest.mark.parametrize("name", NAMES)
def test_array_likes_give_the_same_output_as_the_array(name):
    x = valid_input(name)
    expected = build(name)(x)  # each build draws the same weights (and dropout masks)
    np.testing.assert_array_equal(build(name)(torch.tensor(x, requires_grad=x.dtype.kind == "f")),
                                  expected)
    np.testing.assert_array_equal(build(name)(_ArrayLike(x)), expected)
    # a list has no dtype: np.asarray makes float64 (int64 for token ids) of it
    as_list = x.astype(np.float64) if x.dtype.kind == "f" else x
    np.testing.assert_array_equal(build(name)(x.tolist()), build(name)(as_list))


@pytest.mark.parametrize("name", NAMES)
def test_what_is_not_an_array_is_refused_naming_layout_and_received(name):
    layer = build(name)
    shape = LAYERS[name][1]
    for value, received in ((None, "received None"), ("abc", "received a str 'abc'"),
                            (3.0, "received a single number 3.0"), ({"x": 1}, "received a dict"),
                            (np.float32(2), "received a single number 2.0")):
        with pytest.raises(TypeError, match=rf"^{type(layer).__name__} expects an array .*\(N, .*"
                                            rf"{re.escape(received)}"):
            layer(value)
    for dtype, what in ((np.complex128, "complex dtype complex128"),
                        (object, "object (Python objects) dtype object"), ("U3", "string dtype <U3")):
        with pytest.raises(TypeError, match=re.escape(f"received an array of {what} with shape {shape}")):
            layer(np.zeros(shape, dtype=dtype))


@pytest.mark.parametrize("name", NAMES)
def test_empty_inputs_are_refused_the_same_way_by_every_layer(name):
    layer = build(name)
    shape = LAYERS[name][1]
    empty = (0, *shape[1:])
    with pytest.raises(ValueError, match=re.escape(
            f"with at least one example, received an empty batch of shape {empty}")):
        layer(np.zeros(empty, dtype=LAYERS[name][2]))
    no_channels = (shape[0], 0, *shape[2:])
    with pytest.raises(ValueError, match=re.escape(
            f"received shape {no_channels} whose axis 1 has size 0 (no values)")):
        layer(np.zeros(no_channels, dtype=LAYERS[name][2]))


@pytest.mark.parametrize("name", NAMES)
def test_backward_checks_dy_against_the_forward_output(name):
    layer = build(name)
    y = layer(valid_input(name))
    wrong = (*y.shape[:-1], y.shape[-1] + 1)
    with pytest.raises(ValueError, match=re.escape(
            f"{type(layer).__name__}.backward: expected dy of shape {y.shape} (the output of "
            f"forward), received {wrong}")):
        layer.backward(np.ones(wrong, y.dtype))
    with pytest.raises(TypeError, match=r"\.backward expects dy, an array of shape .* received None"):
        layer.backward(None)
    dx_list = layer.backward(np.ones(y.shape).tolist())  # a list is converted like an input
    again = build(name)
    again(valid_input(name))
    dx_array = again.backward(np.ones(y.shape))
    if dx_array is not None:
        np.testing.assert_array_equal(dx_list, dx_array)


def test_a_layer_shared_at_two_shapes_takes_each_calls_gradient():
    conv = cl.Conv1d(1, 1, 3, padding=1)
    model = cl.Sequential(conv, cl.MaxPool1d(2), conv)  # (2, 1, 8) -> (2, 1, 8) -> (2, 1, 4)
    y = model(np.ones((2, 1, 8), np.float32))
    dx = model.backward(np.ones_like(y))
    assert dx.shape == (2, 1, 8)


def test_ragged_lists_tensors_elsewhere_and_dtypes_numpy_cannot_take():
    with pytest.raises(ValueError, match=r"Linear expects an array of real numbers \(N, 2\), received a "
                                         r"list that is not rectangular"):
        cl.Linear(2, 1)([[1.0, 2.0], [3.0]])

    class CudaTensor:  # what a tensor on a GPU looks like to the check (torch is not imported)
        device = type("Device", (), {"type": "cuda"})()

        def detach(self):
            return self

        def numpy(self):
            raise AssertionError("never converted")

    with pytest.raises(TypeError, match=r"received a tensor on .*move it to the CPU first \(tensor.cpu\(\)\)"):
        cl.ReLU()(CudaTensor())
    with pytest.raises(TypeError, match=r"received a torch\.Tensor that NumPy cannot convert"):
        cl.ReLU()(torch.zeros(2, 3, dtype=torch.bfloat16))


def test_as_array_options_and_multi_output_gradients():
    assert as_array(3.0, "f", "x", allow_scalar=True).shape == ()
    assert as_array(np.zeros((0, 2)), "f", "x", allow_empty=True).shape == (0, 2)
    dy = check_grad("Split", [np.zeros(2), [1.0, 2.0, 3.0]], ((2,), (3,)))
    assert [d.shape for d in dy] == [(2,), (3,)]
    with pytest.raises(ValueError, match=r"Split \(output 1\)\.backward: expected dy of shape \(3,\)"):
        check_grad("Split", [np.zeros(2), np.zeros(4)], ((2,), (3,)))
    with pytest.raises(ValueError, match=r"expected a tuple of 2 gradients \(one per output"):
        check_grad("Split", np.zeros(2), ((2,), (3,)))


LOSSES = {
    "CrossEntropyLoss": (cl.CrossEntropyLoss, np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 0.3]]), [2, 0]),
    "NLLLoss": (cl.NLLLoss, np.log(np.full((2, 3), 1 / 3)), [1, 0]),
    "BCEWithLogitsLoss": (cl.BCEWithLogitsLoss, np.array([[0.3], [-1.0]]), [[1.0], [0.0]]),
    "BCELoss": (cl.BCELoss, np.array([[0.3], [0.6]]), [[1.0], [0.0]]),
    "MSELoss": (cl.MSELoss, np.array([1.0, 2.0]), [0.5, 2.5]),
    "L1Loss": (cl.L1Loss, np.array([1.0, 2.0]), [0.5, 2.5]),
    "HuberLoss": (cl.HuberLoss, np.array([1.0, 2.0]), [0.5, 4.5]),
    "SmoothL1Loss": (cl.SmoothL1Loss, np.array([1.0, 2.0]), [0.5, 4.5]),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_takes_array_likes_and_refuses_the_rest(name):
    build, prediction, target = LOSSES[name]
    expected = build()(prediction, np.asarray(target))
    assert build()(prediction.tolist(), target) == pytest.approx(expected)
    assert build()(torch.tensor(prediction), torch.tensor(target)) == pytest.approx(expected)
    for bad_prediction, bad_target, message in (
            (None, target, rf"{name}: prediction expects an array .* received None"),
            (prediction, "cat", rf"{name}: target expects .* received a str 'cat'"),
            (prediction.astype(complex), target, rf"{name}: prediction expects .* received an array of "
                                                 r"complex dtype"),
            (prediction, np.array(target, dtype=object), rf"{name}: target expects .* object")):
        with pytest.raises(TypeError, match=message):
            build()(bad_prediction, bad_target)
    with pytest.raises(ValueError, match=rf"{name}: prediction expects .* with at least one example, "
                                         r"received an empty batch of shape \(0"):
        build()(prediction[:0], np.asarray(target)[:0])


def test_get_model_names_the_model_and_its_keywords():
    with pytest.raises(TypeError, match=re.escape(
            "get_model('lenet5') received unknown keyword argument 'foo'; lenet5 takes: "
            "input_size=28, in_channels=1, num_classes=10")):
        cl.models.get_model("lenet5", foo=1)


def test_lenet5_and_batch_norm_on_an_empty_batch():
    with pytest.raises(ValueError, match=re.escape(
            "Sequential expects an array of real numbers (N, C, H, W) with C=1 with at least one "
            "example, received an empty batch of shape (0, 1, 28, 28)")):
        cl.models.get_model("lenet5")(np.zeros((0, 1, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"^BatchNorm2d expects .* received an empty batch") as info:
        cl.BatchNorm2d(2)(np.zeros((0, 2, 3, 3)))
    assert "value per channel" not in str(info.value)


def test_the_window_message_suggests_only_possible_fixes():
    with pytest.raises(ValueError, match=re.escape(
            "Conv2d: expected an input height of at least 1, received 0: there is nothing to "
            "slide the window over")):
        output_shape("Conv2d", (0, 5), (3, 3), (1, 1), ((0, 0), (0, 0)))
    # a dilated kernel: the largest kernel_size that fits is counted in taps, not in span
    with pytest.raises(ValueError, match=re.escape("Use padding >= 3 (or a kernel of at most 1 along "
                                                   "height, or a larger input).")):
        output_shape("Conv2d", (3, 5), (3, 3), (1, 1), ((0, 0), (0, 0)), (4, 1))
    # pooling pads at most half its kernel: a padding above that is not suggested
    with pytest.raises(ValueError, match=re.escape(
            "Use a kernel of at most 1 along height (padding cannot exceed 1 here; or a larger "
            "input).")) as info:
        cl.MaxPool2d(3, dilation=4)(np.zeros((1, 1, 3, 3)))
    assert "at most 0" not in str(info.value)
