"""``Dropout`` with ``return_mask``, ``always`` and ``reseed``: the options ONNX's Dropout node
needs (its mask output, ``training_mode=True``, and the masks its reference implementation
draws for a ``seed``). The ONNX conformance cases of Dropout run in
tests/io/onnx/test_onnx_backend.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx.reference.ops.op_dropout import _dropout

import convlens as cl


def x_sample(shape=(3, 4, 5)):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def test_mask_in_eval_is_all_kept_and_in_training_is_what_was_kept():
    layer = cl.Dropout(0.5, seed=1, return_mask=True)
    layer.eval()
    y, mask = layer(x_sample())
    np.testing.assert_array_equal(y, x_sample())
    assert mask.dtype == bool and mask.all()
    layer.train()
    y, mask = layer(x_sample())
    np.testing.assert_array_equal(y, np.where(mask, x_sample() * 2, 0))
    dx = layer.backward((np.ones_like(y), None))
    np.testing.assert_array_equal(dx, np.where(mask, 2.0, 0.0))


def test_always_drops_in_eval_mode():
    layer = cl.Dropout(0.5, seed=2, always=True).eval()
    y = layer(x_sample())
    assert (y == 0).any() and ((y == 0) | np.isclose(y, 2 * x_sample())).all()


@pytest.mark.parametrize("ratio", [0.25, 0.5, 0.75])
def test_reseed_draws_the_masks_of_onnx_reference(ratio):
    layer = cl.Dropout(ratio, seed=0, always=True, return_mask=True, reseed=True)
    expected_y, expected_mask = _dropout(x_sample(), ratio, seed=0, training_mode=True,
                                         return_mask=True)
    for _ in range(2):   # the same mask at every call
        y, mask = layer(x_sample())
        np.testing.assert_array_equal(mask, expected_mask)
        np.testing.assert_allclose(y, expected_y, rtol=1e-6)


def test_reseed_needs_a_seed():
    with pytest.raises(ValueError, match="reseed=True .* needs a seed, received seed=None"):
        cl.Dropout(0.5, reseed=True)


def test_in_a_graph_the_mask_is_an_output_without_gradient():
    cl.manual_seed(0)
    x = cl.Input((4, 5))
    y, mask = cl.Dropout(0.5, seed=3, return_mask=True)(x, name="drop")
    graph = cl.Graph(x, (cl.Linear(5, 2)(y), mask)).train()
    out, kept = graph(x_sample())
    assert kept.dtype == bool and kept.shape == (3, 4, 5)
    dx = graph.backward((np.ones_like(out), None))
    assert (dx[~kept] == 0).all()
    spec = cl.Dropout(0.5, seed=3, always=True, return_mask=True, reseed=True).get_config()
    assert spec == {"p": 0.5, "seed": 3, "always": True, "return_mask": True, "reseed": True}


def test_exports_with_its_mask(tmp_path):
    import onnxruntime

    x = cl.Input((4, 5))
    y, mask = cl.Dropout(0.3, return_mask=True)(x)
    graph = cl.Graph(x, (y, mask))
    path = cl.export_onnx(graph, tmp_path / "drop.onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got_y, got_mask = session.run(None, {session.get_inputs()[0].name: x_sample()})
    np.testing.assert_array_equal(got_y, x_sample())
    assert got_mask.dtype == bool and got_mask.all()
    twin = cl.to_torch(graph).eval()
    ty, tmask = twin(torch.from_numpy(x_sample()))
    np.testing.assert_array_equal(ty.numpy(), x_sample())
    assert tmask.all()


def test_a_seeded_dropout_that_drops_at_inference_exports_its_seed_as_onnx_asks(tmp_path):
    import onnx

    x = cl.Input((4, 5))
    y, mask = cl.Dropout(0.5, return_mask=True, always=True, seed=3)(x)
    path = cl.export_onnx(cl.Graph(x, (y, mask)), tmp_path / "seeded.onnx")  # check_model inside
    node = next(n for n in onnx.load(str(path)).graph.node if n.op_type == "Dropout")
    seed = next(a for a in node.attribute if a.name == "seed")
    assert seed.type == onnx.AttributeProto.INT and seed.i == 3
