"""Loading a run folder: the zoo model with its weights, and errors that say what is wrong."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convlens as cl
from convlens.io import save_weights, write_json
from convlens.viz.run_folder import RunFolderError, load_run, load_run_dataset, read_metrics


def _write_run(path, model_name="simple_cnn", num_classes=10, **config):
    path.mkdir(parents=True, exist_ok=True)
    cl.manual_seed(3)
    model = cl.models.get_model(model_name, in_channels=1, num_classes=num_classes)
    save_weights(model, path / "weights.npz")
    write_json(path / "config.json", {"model": model_name, "dataset": "mnist-5k", "data_dir": None,
                                      "limit_train": 20, "limit_test": 10, **config})
    write_json(path / "metrics.json", {"status": "completed", "history": {}})
    return model


def test_load_run_rebuilds_the_model_with_its_weights(tmp_path):
    saved = _write_run(tmp_path / "run")
    model, config = load_run(tmp_path / "run")
    assert config["model"] == "simple_cnn"
    assert type(model) is type(saved) and not model.training
    for (name, a), (_, b) in zip(model.state_dict().items(), saved.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    x = np.random.default_rng(0).random((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(model(x), saved.eval()(x), rtol=1e-6)
    ds = load_run_dataset(config)
    assert len(ds.y_train) == 20 and len(ds.y_test) == 10
    assert read_metrics(tmp_path / "run")["status"] == "completed"


def test_class_count_comes_from_the_weights_or_the_config(tmp_path):
    _write_run(tmp_path / "four", num_classes=4)
    model, _ = load_run(tmp_path / "four")
    assert model.layers[-1].out_features == 4
    # a count recorded in config.json wins over the weights' shapes (here it contradicts them)
    _write_run(tmp_path / "cfg", num_classes=4, in_channels=1)
    config = json.loads((tmp_path / "cfg" / "config.json").read_text())
    (tmp_path / "cfg" / "config.json").write_text(json.dumps({**config, "num_classes": 10}))
    with pytest.raises(RunFolderError, match=r"shape mismatch for '7.weight': the model expects \(10, 400\)"):
        load_run(tmp_path / "cfg")


def test_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(RunFolderError, match=r"is not a folder: expected a run folder written by `convlens"):
        load_run(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunFolderError, match=r"has no config.json"):
        load_run(tmp_path / "empty")
    _write_run(tmp_path / "noweights")
    (tmp_path / "noweights" / "weights.npz").unlink()
    with pytest.raises(RunFolderError, match=r"has no weights.npz"):
        load_run(tmp_path / "noweights")
    _write_run(tmp_path / "unknown")
    (tmp_path / "unknown" / "config.json").write_text(json.dumps({"model": "resnet-9000"}))
    with pytest.raises(RunFolderError, match=r"names the model 'resnet-9000', which this convlens does not"):
        load_run(tmp_path / "unknown")
    _write_run(tmp_path / "mismatch")
    config = json.loads((tmp_path / "mismatch" / "config.json").read_text())
    (tmp_path / "mismatch" / "config.json").write_text(json.dumps({**config, "model": "lenet5"}))
    with pytest.raises(RunFolderError, match=r"weights.npz does not fit the model 'lenet5' named in config"):
        load_run(tmp_path / "mismatch")
    (tmp_path / "mismatch" / "config.json").write_text("{not json")
    with pytest.raises(RunFolderError, match=r"config.json is not valid JSON"):
        load_run(tmp_path / "mismatch")
    with pytest.raises(RunFolderError, match=r"has no metrics.json"):
        read_metrics(tmp_path / "empty")
