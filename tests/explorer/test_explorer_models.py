"""Opening the explorer's models: zoo names, run folders (finished or still training), model
files through convlens.io.formats, and the errors that say what was expected."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
from explorer_helpers import write_run

import convlens as cl
from convlens.explorer.models import ModelOpenError, ServedModel, open_model, open_models
from convlens.explorer.runs import run_record
from convlens.training.checkpoint import write_checkpoint


def test_zoo_models_get_their_input_and_dataset():
    lenet = open_model("lenet5")
    assert (lenet.kind, lenet.input_shape, lenet.dataset) == ("zoo", (1, 28, 28), "mnist-5k")
    assert lenet.class_names == tuple("0123456789") and not lenet.model.training
    signal = open_model("cnn1d")
    assert (signal.input_shape, signal.dataset, signal.spatial_dims) == ((1, 40), "mnist1d", 1)


def test_a_run_folder_is_its_model_with_its_weights(tmp_path):
    saved = write_run(tmp_path / "digits")
    served = open_model(tmp_path / "digits")
    assert (served.name, served.kind, served.run_dir) == ("digits", "run", tmp_path / "digits")
    x = np.random.default_rng(0).random((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(served.model(x), saved(x))


def test_a_run_still_training_opens_from_its_checkpoint_and_follows_it(tmp_path):
    run = tmp_path / "training"
    write_run(run)
    (run / "weights.npz").unlink()
    (run / "metrics.json").unlink()
    cl.manual_seed(11)
    first = cl.models.get_model("simple_cnn")
    write_checkpoint(run / "checkpoint", {"model": {"class": "Sequential", "state": first.state_dict()},
                                          "history": {"train_loss": [2.1], "val_loss": [2.0]}})
    served = open_model(run)
    record = run_record(served)
    assert record["status"] == "training" and record["epochs_done"] == 1
    assert record["history"]["val_loss"] == [2.0] and record["weights_updated"] is False
    np.testing.assert_array_equal(record["filters"]["weights"], first[0].weight.data)
    # the next epoch's checkpoint: new weights and one more point on the curves
    second = cl.models.get_model("simple_cnn")
    time.sleep(0.02)
    write_checkpoint(run / "checkpoint", {"model": {"class": "Sequential", "state": second.state_dict()},
                                          "history": {"train_loss": [2.1, 1.7], "val_loss": [2.0, 1.6]}})
    stamp = os.stat(run / "checkpoint.npz").st_mtime + 1
    os.utime(run / "checkpoint.npz", (stamp, stamp))     # a coarse file clock must not hide the change
    record = run_record(served)
    assert record["weights_updated"] is True and record["epochs_done"] == 2
    np.testing.assert_array_equal(record["filters"]["weights"], second[0].weight.data)
    with served.borrow() as copy:          # copies of the old weights are not lent again
        np.testing.assert_array_equal(copy[0].weight.data, second[0].weight.data)


def test_a_saved_model_file_opens_with_what_it_knows(tmp_path):
    from convlens.io.model_info import Preprocessing

    x = cl.Input((1, 12, 12), name="image")
    a = cl.Conv2d(1, 2, 3, padding=1)(x)
    y = cl.Linear(2, 3)(cl.Flatten()(cl.GlobalAvgPool2d()(cl.Add()(a, cl.Conv2d(1, 2, 1)(x)))))
    graph = cl.Graph(inputs=x, outputs=y)
    cl.save(graph, tmp_path / "shapes.convlens", class_names=("circle", "square", "star"), input_shape=(1, 12, 12),
            preprocessing=Preprocessing(kind="images", channels=1, size=(12, 12), mean=(0.5,), std=(0.25,)))
    served = open_model(tmp_path / "shapes.convlens")
    assert (served.kind, served.input_shape, served.class_names) == ("file", (1, 12, 12), ("circle", "square", "star"))
    assert served.preprocessing.mean == (0.5,) and served.dataset is None
    probe = np.random.default_rng(1).random((2, 1, 12, 12)).astype(np.float32)
    np.testing.assert_allclose(served.model(probe), graph.eval()(probe), rtol=1e-6)


def test_a_model_file_goes_through_formats_load(tmp_path, monkeypatch):
    from convlens.io import formats

    path = tmp_path / "net.convlens"
    path.write_bytes(b"anything")
    model = cl.models.get_model("simple_cnn")
    monkeypatch.setattr(formats, "load", lambda p: model if p == path else None)
    served = open_model(path)
    assert (served.name, served.kind, served.input_shape, served.dataset) == ("net.convlens", "file", (1, 28, 28), None)
    model.input_shape = (1, 32, 32)        # a file that records its input is taken at its word
    with pytest.raises(ModelOpenError, match=r"the model does not take inputs of shape \(1, 32, 32\): Linear expects"):
        open_model(path)                   # simple_cnn's Linear(400) does not fit 32×32


def test_errors_name_what_was_expected(tmp_path):
    with pytest.raises(ModelOpenError, match=r"'nope' is neither a file, a run folder \(with config.json\) nor a zoo model; zoo models: cnn1d"):
        open_model("nope")
    with pytest.raises(ModelOpenError, match=r"reads token ids \(it starts with an Embedding\)"):
        open_model("text_cnn")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelOpenError, match=r"is not a model file convlens can read"):
        open_model(tmp_path / "notes.txt")
    (tmp_path / "empty-run").mkdir()
    (tmp_path / "empty-run" / "config.json").write_text('{"model": "simple_cnn"}')
    with pytest.raises(ModelOpenError, match=r"empty-run.: it has neither model.convlens, weights.npz nor checkpoint.npz: the run has not finished an epoch yet"):
        open_model(tmp_path / "empty-run")


def test_same_names_get_a_suffix_and_requests_share_a_bounded_pool_of_copies():
    served = open_models(["simple_cnn", "simple_cnn"])
    assert list(served) == ["simple_cnn", "simple_cnn-2"]
    model: ServedModel = served["simple_cnn"]
    model.pool_size = 2
    with model.borrow() as first:
        pass
    with model.borrow() as again:          # an idle copy is lent again, not copied anew
        assert again is first and again is not model.model and model.copies == 1
    # two requests hold both copies: a third waits until one comes back
    order: list[str] = []

    def third() -> None:
        with model.borrow() as copy:
            order.append("third")
            assert copy is first

    with model.borrow() as a, model.borrow() as b:
        assert a is not b and model.copies == 2
        waiter = threading.Thread(target=third)
        waiter.start()
        waiter.join(timeout=0.3)
        assert waiter.is_alive() and order == []       # no third copy is made
        order.append("returned")
    waiter.join(timeout=5)
    assert order == ["returned", "third"] and model.copies == 2
