"""Max and min pooling with ``return_indices``: PyTorch's per-plane positions, and
``FlatIndices`` that turns them into ONNX's whole-tensor positions (row- or column-major).

The positions are compared with ``torch.nn.MaxPoolNd(return_indices=True)`` exactly; in a graph
the indices output gets no gradient while the pooled values' gradients match torch autograd
and central differences. ONNX's own cases (``test_maxpool_with_argmax_*``) run in
tests/io/onnx/test_onnx_backend.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch_oracle import check_parity

import convlens as cl

GEOMETRIES = [  # nd, kernel, stride, padding, dilation, ceil_mode
    (1, 3, 2, 1, 1, True),
    (2, 3, 2, 1, 1, False),
    (2, (2, 3), (1, 2), (1, 0), (2, 1), True),
    (3, 2, 1, 1, 1, False),
]


@pytest.mark.parametrize("nd, kernel, stride, padding, dilation, ceil", GEOMETRIES)
def test_indices_match_torch(nd, kernel, stride, padding, dilation, ceil):
    x = np.random.default_rng(nd).standard_normal((2, 3, *(7, 6, 5)[:nd])).astype(np.float32)
    layer = getattr(cl, f"MaxPool{nd}d")(kernel, stride, padding, dilation, ceil_mode=ceil,
                                         return_indices=True)
    twin = getattr(torch.nn, f"MaxPool{nd}d")(kernel, stride, padding, dilation, ceil_mode=ceil,
                                              return_indices=True)
    y, indices = layer(x)
    y_t, indices_t = twin(torch.from_numpy(x))
    np.testing.assert_array_equal(y, y_t.numpy())
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(indices, indices_t.numpy())
    with cl.no_grad():                        # inference records the winners too
        np.testing.assert_array_equal(layer(x)[1], indices)


def test_min_pool_indices_are_where_the_minimum_is():
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5))
    y, indices = cl.MinPool2d(2, return_indices=True)(x)
    planes = x.reshape(1, 2, 25)
    np.testing.assert_array_equal(np.take_along_axis(planes, indices.reshape(1, 2, -1), 2),
                                  y.reshape(1, 2, -1))


def test_average_pooling_refuses_indices():
    with pytest.raises(ValueError, match="return_indices is for max and min pooling"):
        cl.AvgPool2d(2, return_indices=True)


def pooled_graph(dtype=np.float64, indices_out=False):
    cl.manual_seed(4)
    x = cl.Input((2, 6, 6), name="x")
    h = cl.Conv2d(2, 3, 3, padding=1, dtype=dtype)(x, name="conv")
    y, indices = cl.MaxPool2d(2, return_indices=True)(h, name="pool")
    out = cl.Linear(27, 4, dtype=dtype)(cl.Flatten()(y))
    return cl.Graph(x, (out, indices) if indices_out else out)


def test_gradients_flow_through_the_values_only():
    x = np.random.default_rng(1).standard_normal((2, 2, 6, 6))
    check_parity(pooled_graph(), x)
    report = cl.gradcheck(pooled_graph(), x, max_checks=40)
    assert report.max_error < 1e-7, report
    graph = pooled_graph(indices_out=True)
    out, indices = graph(x)
    assert indices.shape == (2, 3, 3, 3) and indices.dtype == np.int64
    dx = graph.backward((np.ones_like(out), None))
    expected = pooled_graph()
    expected(x)
    np.testing.assert_array_equal(dx, expected.backward(np.ones_like(out)))


def test_to_torch_and_onnx_give_the_same_indices(tmp_path):
    import onnxruntime

    graph = pooled_graph(np.float32, indices_out=True)
    x = np.random.default_rng(2).standard_normal((2, 2, 6, 6)).astype(np.float32)
    out, indices = graph(x)
    out_t, indices_t = cl.to_torch(graph)(torch.from_numpy(x))
    np.testing.assert_allclose(out_t.detach().numpy(), out, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(indices_t.numpy(), indices)
    path = cl.export_onnx(graph, tmp_path / "pool.onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out_o, indices_o = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(out_o, out, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(indices_o, indices)
    again = cl.from_onnx(path)   # Mod(Indices, plane size) reads back as the per-plane indices
    assert [type(n.layer).__name__ for n in again.nodes] == [type(n.layer).__name__ for n in graph.nodes]
    out_i, indices_i = again(x)
    np.testing.assert_array_equal(out_i, out)
    np.testing.assert_array_equal(indices_i, indices)


@pytest.mark.parametrize("column_major", [False, True])
def test_flat_indices_count_over_the_whole_tensor(column_major):
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 5))
    _, indices = cl.MaxPool2d(2, return_indices=True)(x)
    flat = cl.FlatIndices((4, 5), column_major=column_major)(indices)
    order = "F" if column_major else "C"
    for n, c in np.ndindex(2, 3):
        rows, cols = np.unravel_index(indices[n, c], (4, 5))
        plane = np.ravel_multi_index((rows, cols), (4, 5), order=order)
        np.testing.assert_array_equal(flat[n, c], (n * 3 + c) * 20 + plane)
    spec = cl.FlatIndices((4, 5), column_major=column_major).get_config()
    assert spec == {"spatial_shape": [4, 5], **({"column_major": True} if column_major else {})}


@pytest.mark.parametrize("column_major", [False, True])
def test_flat_indices_export_to_onnx(tmp_path, column_major):
    import onnxruntime

    x = cl.Input((3, 4, 5))
    _, indices = cl.MaxPool2d(2, return_indices=True)(x)
    graph = cl.Graph(x, cl.FlatIndices((4, 5), column_major=column_major)(indices))
    path = cl.export_onnx(graph, tmp_path / "flat.onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n in (1, 3):   # the batch size is dynamic
        data = np.random.default_rng(n).standard_normal((n, 3, 4, 5)).astype(np.float32)
        np.testing.assert_array_equal(session.run(None, {session.get_inputs()[0].name: data})[0],
                                      graph(data))


def test_onnx_argmax_case_imports_and_exports_again(tmp_path):
    """ONNX's own case with storage_order=1: convlens reproduces its Indices, and the model it
    imports exports again to a file onnxruntime computes the same on."""
    import onnxruntime
    from onnx.backend.test.loader import load_model_tests

    from convlens.io.onnx.conformance import _data_sets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # onnx's case generators overflow casts on purpose
        case = next(c for c in load_model_tests(kind="node")
                    if c.name == "test_maxpool_with_argmax_2d_precomputed_strides")
    model = case.model   # onnx builds the node cases in memory
    (x,), (y, indices) = _data_sets(case)[0]
    graph = cl.from_onnx(model)
    got_y, got_indices = graph(x)
    np.testing.assert_array_equal(got_y, y)
    np.testing.assert_array_equal(got_indices, indices)
    path = cl.export_onnx(graph, tmp_path / "argmax.onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out_y, out_indices = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_array_equal(out_y, y)
    np.testing.assert_array_equal(out_indices, indices)
