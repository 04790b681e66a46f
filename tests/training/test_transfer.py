"""Building on a trained model: --init-from a run folder or a model file, --freeze keeps layers
bit-identical (BatchNorm statistics too), and a new classifier head when the classes differ."""

import json

import numpy as np
import pytest
from process_runs import train

import convlens as cl
from convlens.data import DataLoader
from convlens.io import load_arrays, save_weights
from convlens.training import Trainer
from convlens.training.transfer import (
    KeepFrozenInEval,
    TransferError,
    freeze,
    frozen_batch_norms,
    load_pretrained,
    replace_head,
)

SMALL = ["--limit-train", "32", "--limit-test", "10", "--batch-size", "16", "--epochs", "1"]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    out = tmp_path_factory.mktemp("src") / "digits"
    result = train(*SMALL, "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def _bn_net():
    cl.manual_seed(0)
    return cl.Sequential(
        cl.Conv2d(1, 4, 3), cl.BatchNorm2d(4), cl.ReLU(), cl.Flatten(), cl.Linear(4 * 6 * 6, 3)
    )


def test_frozen_layers_and_their_batch_norm_statistics_stay_bit_identical():
    model = _bn_net()
    frozen = freeze(model, "0,1")
    assert frozen == ["0", "1"]
    before = {k: v.copy() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 1, 8, 8)).astype(np.float32), rng.integers(0, 3, 32)
    optimizer = cl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    norms = frozen_batch_norms(model, frozen)
    assert norms == [model[1]]
    trainer = Trainer(
        model,
        cl.CrossEntropyLoss(),
        optimizer,
        DataLoader(x, y, 8, seed=0),
        callbacks=[KeepFrozenInEval(norms)],
        verbose=False,
    )
    trainer.fit(2)
    after = model.state_dict()
    for key in before:
        same = np.array_equal(before[key], after[key])
        assert same == (not key.startswith("4.")), key  # only the Linear head moved
    assert "1.running_mean" in before and "1.running_var" in before


def test_freeze_takes_names_globs_and_ranges_and_explains_misses():
    model = cl.models.get_model("lenet5")
    assert freeze(model, "0-3") == ["0", "1", "2", "3"]
    assert not model[0].weight.requires_grad and model[7].weight.requires_grad
    assert freeze(cl.models.get_model("lenet5"), "1?") == ["10", "11"]
    with pytest.raises(
        ValueError, match=r"'conv9' matches no layer; the layers are: 0 Conv2d, 1 ReLU, 2 MaxPool2d"
    ):
        freeze(model, "conv9")
    with pytest.raises(ValueError, match=r"expected a comma list of layer names, received '0,,3'"):
        freeze(model, "0,,3")


def test_replace_head_puts_a_fresh_linear_with_the_new_class_count():
    model = cl.models.get_model("lenet5")
    old = model[11]
    assert replace_head(model, 5) == "11"
    assert model[11] is not old and model[11].weight.shape == (5, 84) and model[11].bias.shape == (5,)
    assert model(np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 5)
    with pytest.raises(TransferError, match="has no Linear layer"):
        replace_head(cl.Sequential(cl.Conv2d(1, 2, 3)), 4)


def test_init_from_a_run_freezes_layers_and_replaces_the_head_for_other_classes(tmp_path, source):
    out = tmp_path / "fashion"
    result = train(
        *SMALL, "--dataset", "fashion-mnist", "--init-from", str(source), "--freeze", "0-5", "--out", str(out)
    )
    if "Fashion-MNIST" in result.output and result.exit_code == 1:
        pytest.skip("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist")
    assert result.exit_code == 0, result.output
    assert (
        f"init: weights from {source}; new classifier head (layer 11, fresh weights): its classes (0, 1, 2, …) "
        "are not fashion-mnist's (T-shirt/top, Trouser, Pullover, …)"
    ) in result.output
    assert "frozen: layers 0, 1, 2, 3, 4, 5 (2,572 parameters); 59,134 trainable" in result.output
    before, after = load_arrays(source / "weights.npz"), load_arrays(out / "weights.npz")
    for key in ("0.weight", "0.bias", "3.weight", "3.bias"):
        assert np.array_equal(before[key], after[key]), key  # frozen: bit-identical
    for key in ("7.weight", "11.weight"):
        assert not np.array_equal(before[key], after[key]), key  # trained
    config = json.loads((out / "config.json").read_text())
    assert config["init_from"] == str(source) and config["freeze"] == "0-5" and config["model"] == "lenet5"
    assert config["model_spec"]["class"] == "Sequential" and "--model" not in config["command"]
    assert "--init-from" in config["command"]
    # it resumes (the architecture comes from model_spec) and trains longer
    result = train("--resume", str(out), "--epochs", "2")
    assert result.exit_code == 0, result.output
    again = load_arrays(out / "weights.npz")
    assert np.array_equal(again["0.weight"], before["0.weight"])


def test_init_from_the_same_classes_keeps_the_head(tmp_path, source):
    out = tmp_path / "more"
    result = train(*SMALL, "--init-from", str(source), "--lr", "0.0001", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"init: weights from {source}, classifier head kept (same classes)" in result.output


def test_init_from_a_classifier_onto_a_binary_task_gets_a_one_output_head(tmp_path, source):
    out = tmp_path / "is-0"
    result = train(*SMALL, "--dataset", "mnist-5k-is-0", "--init-from", str(source), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert ("new output head (layer 11, fresh weights): mnist-5k-is-0 is a binary task with 1 output, "
            "the model has 10") in result.output
    weights = load_arrays(out / "weights.npz")
    assert weights["11.weight"].shape == (1, 84) and np.array_equal(
        weights["0.weight"].shape, load_arrays(source / "weights.npz")["0.weight"].shape)


def test_init_from_a_model_file_goes_through_the_format_registry(tmp_path):
    cl.manual_seed(3)
    model = cl.models.get_model("lenet5", num_classes=3)
    path = cl.save(model, tmp_path / "three", class_names=("a", "b", "c"))
    loaded, info = load_pretrained(path)
    assert info.source == path and info.class_names == ["a", "b", "c"]
    assert all(np.array_equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))
    out = tmp_path / "run"
    result = train(*SMALL, "--init-from", str(path), "--freeze", "0", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "new classifier head (layer 11, fresh weights): mnist-5k has 10 classes, the model 3 outputs" in (
        result.output
    )
    assert np.array_equal(load_arrays(out / "weights.npz")["0.weight"], model[0].weight.data)
    with pytest.raises(TransferError, match=r"cannot start from .*broken.convlens"):
        (tmp_path / "broken.convlens").write_bytes(path.read_bytes()[:100])
        load_pretrained(tmp_path / "broken.convlens")


@pytest.mark.parametrize(
    "damage, expected",
    [
        ("missing weights", "has no weights.npz (the run did not finish"),
        ("empty weights", "cannot read {run}/weights.npz"),
        ("corrupt weights", "cannot read {run}/weights.npz"),
        ("config a list", "config.json: expected a JSON object, received list"),
        ("config unknown model", "names the model 'alexnet', which this convlens does not know; known models: "),
        ("weights of another model", "weights.npz does not fit the model 'lenet5' named in config.json"),
        ("no config", "is a folder without config.json"),
        ("nowhere", "no such run folder or model file"),
        ("damaged model file", "cannot start from {run}/model.convlens"),
    ],
)
def test_a_bad_init_from_is_a_usage_error_that_writes_nothing(tmp_path, source, damage, expected):
    run = tmp_path / "src"
    run.mkdir()
    for f in source.iterdir():  # a run folder without model.convlens: as runs made before it existed
        if f.name != "model.convlens" or damage == "damaged model file":
            (run / f.name).write_bytes(f.read_bytes())
    if damage == "damaged model file":
        (run / "model.convlens").write_bytes((run / "model.convlens").read_bytes()[:100])
    elif damage == "missing weights":
        (run / "weights.npz").unlink()
    elif damage == "empty weights":
        (run / "weights.npz").write_bytes(b"")
    elif damage == "corrupt weights":
        data = bytearray((run / "weights.npz").read_bytes())
        data[len(data) // 2] ^= 0xFF
        (run / "weights.npz").write_bytes(bytes(data))
    elif damage == "config a list":
        (run / "config.json").write_text("[]")
    elif damage == "config unknown model":
        (run / "config.json").write_text(json.dumps({"model": "alexnet"}))
    elif damage == "weights of another model":
        save_weights(cl.models.get_model("simple_cnn"), run / "weights.npz")
    elif damage == "no config":
        (run / "config.json").unlink()
    else:
        run = tmp_path / "nowhere"
    result = train(*SMALL, "--init-from", str(run), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert "Invalid value for --init-from" in result.output and expected.format(run=run) in result.output
    assert isinstance(result.exception, SystemExit) and not (tmp_path / "out").exists()


def test_freeze_needs_init_from_and_names_real_layers(tmp_path, source):
    result = train(*SMALL, "--freeze", "0", "--out", str(tmp_path / "a"))
    assert result.exit_code == 2 and "Invalid value for --freeze: needs --init-from" in result.output
    result = train(*SMALL, "--init-from", str(source), "--freeze", "conv1", "--out", str(tmp_path / "b"))
    assert result.exit_code == 2
    assert "Invalid value for --freeze: 'conv1' matches no layer; the layers are: 0 Conv2d" in result.output
    result = train(*SMALL, "--init-from", str(source), "--freeze", "*", "--out", str(tmp_path / "c"))
    assert result.exit_code == 2 and "freezes every parameter: nothing would be trained" in result.output
    assert not any((tmp_path / n).exists() for n in "abc")
