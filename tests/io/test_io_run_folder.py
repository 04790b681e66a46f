"""cl.load(run_folder): model.convlens when the folder has it, else config.json + weights.npz,
else (a run still training) config.json + the checkpoint."""

import numpy as np
import pytest

import convlens as cl
from convlens.io import save_weights, write_json
from convlens.io.formats import FormatError
from convlens.training.checkpoint import write_checkpoint


def _old_run(path, normalization=None):
    path.mkdir(parents=True)
    cl.manual_seed(1)
    model = cl.models.get_model("simple_cnn")
    save_weights(model, path / "weights.npz")
    write_json(path / "config.json", {"model": "simple_cnn", "dataset": "mnist-5k", "input_shape": [1, 28, 28],
                                      "in_channels": 1, "num_classes": 10, "task": "classification",
                                      "normalize": normalization is not None, "normalization": normalization})
    write_json(path / "metrics.json", {"status": "completed", "test_accuracy": 0.9, "test_loss": 0.3,
                                       "test_per_class": [{"class": str(k)} for k in range(10)]})
    return model.eval()


def test_an_old_run_folder_is_rebuilt_with_its_metadata(tmp_path):
    model = _old_run(tmp_path / "run", normalization={"mean": [0.13], "std": [0.31]})
    loaded = cl.load(tmp_path / "run")
    x = np.random.default_rng(0).random((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x), model(x))
    info = loaded.info
    assert info.name == "simple_cnn" and info.dataset == "mnist-5k"
    assert info.class_names == tuple(str(k) for k in range(10))
    assert info.input_shape == (1, 28, 28)
    assert (info.preprocessing.mean, info.preprocessing.std) == ((0.13,), (0.31,))
    assert (info.preprocessing.polarity, info.preprocessing.framing) == ("light-on-dark", "mnist")
    assert info.metrics == {"test_accuracy": 0.9, "test_loss": 0.3}


def test_model_convlens_in_a_run_folder_wins(tmp_path):
    _old_run(tmp_path / "run")
    cl.manual_seed(2)
    other = cl.models.get_model("simple_cnn")
    cl.save(other, tmp_path / "run" / "model.convlens", name="from the model file")
    loaded = cl.load(tmp_path / "run")
    assert loaded.info.name == "from the model file"
    np.testing.assert_array_equal(loaded.state_dict()["0.weight"], other.state_dict()["0.weight"])


def test_a_folder_that_is_not_a_run_is_refused(tmp_path):
    (tmp_path / "photos").mkdir()
    with pytest.raises(FormatError, match="photos' is not a model file convlens can read"):
        cl.load(tmp_path / "photos")
    _old_run(tmp_path / "run")
    (tmp_path / "run" / "weights.npz").unlink()
    with pytest.raises(FormatError, match=r"cannot open the run folder .*run': it has neither model.convlens, "
                                          r"weights.npz nor checkpoint.npz: the run has not finished an epoch yet"):
        cl.load(tmp_path / "run")
    write_checkpoint(tmp_path / "run" / "checkpoint", {"history": {"train_loss": [1.0]}})
    with pytest.raises(FormatError, match=r"checkpoint.npz holds no model weights \(expected a 'model' entry"):
        cl.load(tmp_path / "run")


def test_a_run_still_training_opens_with_its_checkpoint_weights(tmp_path):
    """Only config.json and the checkpoint of the last finished epoch: the config's model with
    the checkpoint's weights, and what config.json tells (no metrics yet)."""
    _old_run(tmp_path / "run")
    (tmp_path / "run" / "weights.npz").unlink()
    (tmp_path / "run" / "metrics.json").unlink()
    cl.manual_seed(7)
    epoch = cl.models.get_model("simple_cnn").eval()
    write_checkpoint(tmp_path / "run" / "checkpoint", {"model": {"class": "Sequential", "state": epoch.state_dict()},
                                                       "history": {"train_loss": [2.0]}})
    loaded = cl.load(tmp_path / "run")
    x = np.random.default_rng(3).random((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x), epoch(x))
    assert not loaded.training and loaded.info.dataset == "mnist-5k" and loaded.info.input_shape == (1, 28, 28)
    assert loaded.info.metrics == {}


def test_an_old_text_run_knows_its_tokenization(tmp_path):
    run = tmp_path / "text-run"
    run.mkdir()
    cl.manual_seed(0)
    vocabulary = ["<pad>", "<unk>", "a", "b"]
    save_weights(cl.models.get_model("text_cnn", vocab_size=4, num_classes=2), run / "weights.npz")
    write_json(run / "config.json", {"model": "text_cnn", "dataset": "text:reviews.tsv", "input_shape": [12],
                                     "vocab_size": 4, "num_classes": 2, "vocabulary": vocabulary,
                                     "data_option": ["tokens=chars", "lowercase=true"]})
    pre = cl.load(run).info.preprocessing
    assert (pre.kind, pre.tokens, pre.lowercase, pre.length) == ("tokens", "chars", True, 12)
    assert pre.vocabulary == tuple(vocabulary)
    assert cl.predict(cl.load(run), "AB").steps == ["lowercased", "2 characters as token ids, padded to 12"]
