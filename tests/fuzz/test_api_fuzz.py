"""Hypothesis over the Python API: random shapes, dtypes and array-likes into every layer and
every loss. Only the documented exceptions (TypeError, ValueError) come out, each naming what
was expected and what was received; what is accepted gives finite outputs and gradients of
the forward output's shape from finite inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from layer_catalogue import LAYERS, build

import convlens as cl

FUZZ = settings(max_examples=8, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
DTYPES = ["float32", "float64", "float16", "int64", "int8", "uint8", "bool", "complex64", "object", "U2"]
# what comes out when the input is refused: the documented types, with a message that teaches
DOCUMENTED = (TypeError, ValueError)


def _is_teaching(err: BaseException) -> bool:
    text = str(err).lower()
    return (any(word in text for word in ("expect", "need", "must")) and "receiv" in text
            and "\n" not in text.strip())


@st.composite
def inputs(draw, near_shape):
    """An input near ``near_shape`` (the catalogue's valid shape): other ranks and sizes, zero
    sizes, other dtypes, and the holders users have (lists, tensors), or no array at all."""
    kind = draw(st.sampled_from(["array", "array", "array", "list", "tensor", "none", "text", "number"]))
    if kind == "none":
        return None
    if kind == "text":
        return draw(st.text(max_size=5))
    if kind == "number":
        return draw(st.floats(allow_nan=False, width=32))
    rank = draw(st.integers(max(1, len(near_shape) - 1), len(near_shape) + 1))
    shape = tuple(near_shape[i] if i < len(near_shape) and draw(st.booleans()) else draw(st.integers(0, 5))
                  for i in range(rank))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    values = rng.uniform(-4, 4, shape)
    if dtype == "object":
        array = values.astype(object)
    elif dtype == "U2":
        array = values.astype("U2")
    elif dtype in ("int64", "int8", "uint8", "bool"):
        array = np.abs(values).astype(dtype) if dtype != "bool" else values > 0
    else:
        array = values.astype(dtype)
    if kind == "list" and dtype not in ("object", "U2"):
        return array.tolist()
    if kind == "tensor" and dtype in ("float32", "float64", "int64", "uint8", "bool"):
        return torch.from_numpy(np.ascontiguousarray(array))
    return array


def _finite(x) -> bool:
    try:
        a = np.asarray(x.detach() if hasattr(x, "detach") else x)
    except (TypeError, ValueError):
        return False
    return a.dtype.kind in "biuf" and a.dtype != np.float16 and bool(np.isfinite(a).all())


@pytest.mark.parametrize("name", sorted(LAYERS))
@FUZZ
@given(data=st.data())
def test_every_layer_takes_what_it_documents_and_refuses_the_rest_clearly(name, data):
    layer = build(name)
    x = data.draw(inputs(LAYERS[name][1]))
    try:
        y = layer(x)
    except DOCUMENTED as err:
        assert _is_teaching(err), f"{name}: unhelpful {type(err).__name__}: {err}"
        return
    assert isinstance(y, np.ndarray)
    if _finite(x):
        assert np.isfinite(y).all(), f"{name}: NaN or inf from finite input"
    dx = layer.backward(np.ones(y.shape))
    if dx is not None:
        assert dx.shape == np.shape(np.asarray(x.detach() if hasattr(x, "detach") else x))
        if _finite(x):
            assert np.isfinite(dx).all(), f"{name}: NaN or inf gradient from finite input"
    with pytest.raises(ValueError, match=r"expected dy of shape .* \(the output of forward\), received"):
        layer(x)
        layer.backward(np.ones((*y.shape, 2)))


LOSSES = [cl.CrossEntropyLoss, cl.NLLLoss, cl.BCEWithLogitsLoss, cl.BCELoss, cl.MSELoss, cl.L1Loss,
          cl.HuberLoss, cl.SmoothL1Loss]


@pytest.mark.parametrize("loss_class", LOSSES, ids=lambda c: c.__name__)
@FUZZ
@given(data=st.data())
def test_every_loss_refuses_clearly_and_stays_finite(loss_class, data):
    prediction = data.draw(inputs((3, 4)))
    target = data.draw(st.one_of(inputs((3,)), inputs((3, 4))))
    loss_fn = loss_class()
    try:
        value = loss_fn(prediction, target)
    except DOCUMENTED as err:
        assert _is_teaching(err), f"{loss_class.__name__}: unhelpful {type(err).__name__}: {err}"
        return
    if _finite(prediction) and _finite(target):
        assert np.isfinite(value), f"{loss_class.__name__}: NaN or inf loss from finite inputs"
        grad = loss_fn.backward()
        assert grad.shape == np.shape(np.asarray(prediction)) and np.isfinite(grad).all()
