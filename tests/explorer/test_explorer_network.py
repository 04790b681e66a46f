"""The network's nodes follow the arrays: a chain for Sequential, branches for Residual and Concat."""

from __future__ import annotations

import numpy as np
import pytest

import convlens as cl
from convlens.explorer.network import INPUT, data_flow


def _flow(model, shape):
    return [(type(c["module"]).__name__, c["inputs"]) for c in data_flow(model, np.zeros((1, *shape), np.float32))]


def test_a_sequential_is_a_chain():
    model = cl.Sequential(cl.Conv2d(1, 2, 3), cl.ReLU(), cl.Flatten(), cl.Linear(2 * 6 * 6, 3))
    assert _flow(model, (1, 8, 8)) == [("Conv2d", [INPUT]), ("ReLU", [0]), ("Flatten", [1]), ("Linear", [2])]


def test_residual_with_and_without_a_shortcut():
    identity = cl.Residual(cl.Sequential(cl.Conv2d(2, 2, 3, padding=1), cl.ReLU()))
    projected = cl.Residual(cl.Conv2d(2, 4, 3, padding=1), cl.Conv2d(2, 4, 1))
    model = cl.Sequential(cl.Conv2d(1, 2, 3, padding=1), identity, projected, cl.ReLU())
    assert _flow(model, (1, 6, 6)) == [
        ("Conv2d", [INPUT]), ("Conv2d", [0]), ("ReLU", [1]), ("Residual", [2, 0]),
        ("Conv2d", [3]), ("Conv2d", [3]), ("Residual", [4, 5]), ("ReLU", [6])]


def test_concat_reads_every_branch():
    model = cl.Sequential(cl.Conv1d(1, 2, 3), cl.Concat(cl.Conv1d(2, 3, 1), cl.Sequential(cl.Conv1d(2, 3, 3, padding=1), cl.ReLU())))
    assert _flow(model, (1, 10)) == [("Conv1d", [INPUT]), ("Conv1d", [0]), ("Conv1d", [0]), ("ReLU", [2]),
                                     ("Concat", [1, 3])]


def _inception_like():
    x = cl.Input((1, 12, 12), name="image")
    a = cl.ReLU()(cl.Conv2d(1, 2, 3, padding=1)(x, name="a"), name="a_relu")
    b = cl.Conv2d(1, 2, 5, padding=2)(x, name="b")
    c = cl.Concatenate(dim=1)(a, b, name="cat")
    d = cl.Conv2d(4, 4, 3, padding=1)(c, name="d")
    s = cl.Add()(c, d, name="sum")
    y = cl.Linear(4, 3)(cl.Flatten()(cl.GlobalAvgPool2d()(s, name="gap"), name="flat"), name="out")
    return cl.Graph(inputs=x, outputs=y)


def test_a_graph_model_is_drawn_as_its_graph():
    from convlens.explorer.models import ServedModel
    from convlens.explorer.network import network

    served = ServedModel("graph", "file", _inception_like().eval(), (1, 12, 12), ("x", "y", "z"))
    nodes = network(served)["nodes"]
    index = {n["name"]: n["index"] for n in nodes}
    inputs = {n["name"]: [nodes[i]["name"] if i >= 0 else "input" for i in n["inputs"]] for n in nodes}
    assert inputs == {"a": ["input"], "a_relu": ["a"], "b": ["input"], "cat": ["a_relu", "b"], "d": ["cat"],
                      "sum": ["cat", "d"], "gap": ["sum"], "flat": ["gap"], "out": ["flat"]}
    assert "Graph" not in [n["type"] for n in nodes]        # the model itself only hands on "out"
    assert list(nodes[index["sum"]]["receptive_field"]) == [7, 7]  # cat sees 5×5, d adds 2


def test_the_api_on_a_graph_model():
    from fastapi.testclient import TestClient

    from convlens.explorer.app import create_app
    from convlens.explorer.models import ServedModel
    from convlens.viz.feature_maps import feature_maps

    model = _inception_like().eval()
    client = TestClient(create_app({"graph": ServedModel("graph", "file", model, (1, 12, 12), ("x", "y", "z"))}))
    x = np.random.default_rng(0).random((1, 12, 12)).astype(np.float32)
    nodes = client.get("/api/models/graph/network").json()["nodes"]
    d = next(n["index"] for n in nodes if n["name"] == "d")
    cell = client.post("/api/models/graph/cell", json={"input": x.tolist(), "layer": d, "index": [1, 4, 5]}).json()
    maps = feature_maps(model, x, ["cat", "d"])
    assert cell["value"] == pytest.approx(float(maps["d"][1, 4, 5]), rel=1e-5)
    np.testing.assert_allclose(cell["detail"]["window"], maps["cat"][:, 3:6, 4:7], rtol=1e-6)
    assert cell["receptive_box"] == [[1, 7], [2, 8]]
    for route, extra in (("activations", {}), ("explain", {}), ("backward", {"label": 2})):
        assert client.post(f"/api/models/graph/{route}", json={"input": x.tolist(), **extra}).status_code == 200
