"""Model definitions: a graph (or any layer tree) as a JSON file, through the format registry."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convlens as cl
from convlens.io import formats
from convlens.io.definition import read_definition, write_definition


def small_graph():
    cl.manual_seed(0)
    x = cl.Input((1, 6, 6), name="image")
    a = cl.Conv2d(1, 2, 3, padding=1)(x, name="conv")
    gated = cl.Multiply()(a, cl.Sigmoid()(a), name="gated")
    return cl.Graph(x, cl.Linear(72, 3)(cl.Flatten()(cl.Add()(gated, x), name="flat"), name="fc"))


def test_definition_round_trip_through_load_and_export(tmp_path):
    model = small_graph()
    path = formats.export(model, tmp_path / "net.json")          # the writer for .json
    spec = json.loads(path.read_text())
    assert list(spec) == ["class", "config"] and spec["class"] == "Graph"
    twin = formats.load(path)                                    # found by content
    assert isinstance(twin, cl.Graph) and [n.name for n in twin.nodes] == [n.name for n in model.nodes]
    twin.load_state_dict(model.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(twin(x), model(x))
    renamed = tmp_path / "architecture.txt"                      # the suffix says nothing
    renamed.write_text(path.read_text())
    assert isinstance(formats.load(renamed), cl.Graph)
    write_definition(cl.Sequential(cl.Conv2d(1, 1, 3)), tmp_path / "seq.json")
    assert isinstance(read_definition(tmp_path / "seq.json"), cl.Sequential)


def test_bad_definitions_name_the_file_and_the_problem(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"class": "Graph", "config": ')
    with pytest.raises(formats.FormatError, match="broken.json.*is not a JSON model definition"):
        read_definition(broken)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"class": "Graph", "config": {
        "inputs": [{"name": "x", "shape": [3]}], "outputs": ["y"],
        "nodes": [{"name": "y", "layer": {"class": "Nope"}, "inputs": ["x"]}]}}))
    with pytest.raises(formats.FormatError, match=r"unknown.json.: model.y: unknown layer "
                                                  r"class 'Nope'"):
        formats.load(unknown)
    with pytest.raises(formats.FormatError, match="cannot read the model definition"):
        read_definition(tmp_path / "missing.json")
