"""cl.save / cl.load: one .convlens file per model, exact round trips, clear errors."""

import hashlib
import json
import zipfile

import numpy as np
import pytest

import convlens as cl
from convlens.io.formats import FormatError
from convlens.io.model_file import CHECKSUM, MANIFEST, ModelFileError
from convlens.io.model_info import ModelInfo, Preprocessing

# one input per zoo model: (shape without the batch axis, token ids?)
ZOO_INPUTS = {
    "cnn1d": ((1, 40), False),
    "cnn3d": ((1, 8, 12, 12), False),
    "text_cnn": ((24,), True),
}


def _zoo_input(name, rng, batch=3):
    shape, tokens = ZOO_INPUTS.get(name, ((1, 28, 28), False))
    if tokens:
        return rng.integers(0, 1000, size=(batch, *shape))
    return rng.standard_normal((batch, *shape)).astype(np.float32)


def _trained_looking(model, x, rng):
    """Weights and running statistics that differ from a fresh model's."""
    for p in model.parameters():
        p.data[...] = rng.standard_normal(p.data.shape).astype(p.data.dtype) * 0.2
    model.train()
    model(x)  # batch norm running averages move
    model.eval()
    return model


@pytest.mark.parametrize("name", cl.models.available_models())
def test_every_zoo_model_gives_identical_outputs_after_save_and_load(name, tmp_path):
    rng = np.random.default_rng(0)
    x = _zoo_input(name, rng)
    model = _trained_looking(cl.models.get_model(name), x, rng)
    path = cl.save(model, tmp_path / f"{name}.convlens", name=name)
    loaded = cl.load(path)
    assert type(loaded) is type(model)
    assert not loaded.training
    np.testing.assert_array_equal(loaded(x), model(x))
    for (key, a), (key2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert key == key2 and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert loaded.info.name == name


class Scale(cl.Module):
    """A layer defined outside convlens: y = factor · x."""

    def __init__(self, factor=2.0):
        super().__init__()
        self.factor = float(factor)

    def forward(self, x):
        return x * self.factor

    def backward(self, dy, need_input_grad=True):
        return dy * self.factor

    def get_config(self):
        return {"factor": self.factor}


def top_level_init(param):
    """An initializer defined at the top level of a module (saved by its name)."""
    return cl.init.ones_(param)


def test_compositions_with_shared_and_tied_layers_custom_init_and_frozen_weights_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    shared = cl.Conv2d(4, 4, 3, padding=1, weight_init="he_normal", bias_init="zeros")
    head = cl.Linear(8, 5, weight_init=top_level_init)
    tied = cl.Linear(5, 5, bias=False)
    twin = cl.Linear(5, 5, bias=False)
    twin.weight = tied.weight  # tied weights: two layers, one parameter
    model = cl.Sequential(
        cl.Conv2d(1, 4, 3, padding="same", padding_mode="reflect", dilation=1),
        cl.Residual(cl.Sequential(shared, cl.ReLU(), shared), cl.Conv2d(4, 4, 1)),
        cl.Concat(cl.Sequential(cl.GlobalAvgPool2d()), cl.Sequential(cl.GlobalMaxPool2d()), dim=1),
        cl.Dropout(0.3, seed=7), head, cl.LeakyReLU(0.1), tied, Scale(3.0), twin,
    )
    model[0].bias.requires_grad = False
    x = rng.standard_normal((2, 1, 6, 6)).astype(np.float32)
    _trained_looking(model, x, rng)
    loaded = cl.load(cl.save(model, tmp_path / "net.convlens"))
    np.testing.assert_array_equal(loaded(x), model(x))
    body = loaded[1].body
    assert body[0] is body[2]  # the shared layer is one object again
    assert loaded[8].weight is loaded[6].weight  # and the tied weight one parameter
    assert [n for n, p in loaded.named_parameters() if not p.requires_grad] == ["0.bias"]
    assert isinstance(loaded[7], Scale) and loaded[7].factor == 3.0
    assert (body[0].weight_init, body[0].bias_init) == ("he_normal", "zeros")
    assert cl.init.get_initializer(loaded[4].weight_init) is top_level_init  # saved by its name
    assert (loaded[3].p, loaded[3].seed) == (0.3, 7)
    # the shared layer still gets the gradient of both uses after loading
    loaded.train()
    loaded[3].p = 0.0
    loaded(x)
    loaded.backward(np.ones((2, 5), np.float32))
    assert body[0].weight.grad is not None


def test_a_float64_model_stays_float64(tmp_path):
    model = cl.Sequential(cl.Conv1d(1, 2, 3), cl.BatchNorm1d(2, affine=True, track_running_stats=True),
                          cl.Flatten(), cl.Linear(12, 3)).double()
    x = np.random.default_rng(2).standard_normal((2, 1, 8))
    loaded = cl.load(cl.save(model, tmp_path / "f64"))
    assert {p.dtype for p in loaded.parameters()} == {np.dtype(np.float64)}
    np.testing.assert_array_equal(loaded(x), model.eval()(x))


def test_metadata_is_kept_and_readable_as_model_info(tmp_path):
    from convlens.data import Dataset

    rng = np.random.default_rng(3)
    x = np.zeros((20, 1, 8, 8), np.float32)
    x[:, :, 2:6, 3:5] = rng.uniform(0.5, 1.0, (20, 1, 4, 2))  # light strokes on a dark background
    y = np.arange(20) % 2
    ds = Dataset.from_arrays(x, y, name="strokes", class_names=("thin", "thick"))
    model = cl.Sequential(cl.Flatten(), cl.Linear(64, 2))
    path = cl.save(model, tmp_path / "m.convlens", dataset=ds, metrics={"test_accuracy": 0.75},
                   normalization={"mean": [0.1], "std": [0.3]}, notes="a test")
    info = cl.load(path).info
    assert isinstance(info, ModelInfo)
    assert info.class_names == ("thin", "thick")
    assert info.input_shape == (1, 8, 8) and info.input_dtype == "float32"
    assert info.dataset == "strokes" and info.metrics == {"test_accuracy": 0.75}
    assert info.preprocessing == Preprocessing(kind="images", channels=1, size=(8, 8), value_range=(0.0, 1.0),
                                               mean=(0.1,), std=(0.3,), polarity="light-on-dark")
    assert info.format_version == 1 and info.convlens_version == cl.__version__ and info.created
    assert info.notes == "a test"
    with pytest.raises(TypeError, match="unknown model metadata 'colour'"):
        cl.save(model, tmp_path / "n.convlens", colour="red")


def test_saving_twice_gives_the_same_bytes_but_for_the_date(tmp_path):
    model = cl.models.get_model("simple_cnn")
    a, b = cl.save(model, tmp_path / "a.convlens"), cl.save(model, tmp_path / "b.convlens")
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        assert za.namelist() == zb.namelist()
        assert all(za.read(n) == zb.read(n) for n in za.namelist() if n.endswith(".npy"))


def test_cl_load_finds_the_format_by_content_when_the_suffix_says_nothing(tmp_path):
    model = cl.models.get_model("simple_cnn")
    path = cl.save(model, tmp_path / "model.convlens")
    renamed = path.rename(tmp_path / "my-model.bin")
    x = np.ones((1, 1, 28, 28), np.float32)
    np.testing.assert_array_equal(cl.load(renamed)(x), model.eval()(x))


# -- damaged and foreign files ------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path):
    return cl.save(cl.models.get_model("simple_cnn"), tmp_path / "good.convlens")


def _rewrite(path, change):
    """Copy the archive with ``change(name, data) -> data`` applied to each member."""
    with zipfile.ZipFile(path) as archive:
        members = [(n, archive.read(n)) for n in archive.namelist()]
    out = path.with_name("changed.convlens")
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members:
            archive.writestr(name, change(name, data))
    return out


def _error(path):
    with pytest.raises(ModelFileError) as info:
        cl.load(path)
    assert isinstance(info.value, FormatError)
    assert str(path) in str(info.value)
    return str(info.value)


def test_a_truncated_file_is_refused(saved):
    cut = saved.with_name("cut.convlens")
    cut.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    assert "is truncated or damaged" in _error(cut)


def test_an_empty_file_is_refused(tmp_path):
    empty = tmp_path / "empty.convlens"
    empty.write_bytes(b"")
    assert "is empty (0 bytes)" in _error(empty)


def test_a_corrupt_byte_is_found(saved):
    data = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as archive:
        member = archive.getinfo("arrays/0.weight.npy")
    data[member.header_offset + 30 + len(member.filename) + 200] ^= 0xFF  # inside the weights
    broken = saved.with_name("broken.convlens")
    broken.write_bytes(bytes(data))
    message = _error(broken)
    assert "is corrupt: the member arrays/0.weight.npy cannot be read" in message
    assert "CRC" in message


def test_a_foreign_zip_is_refused(tmp_path):
    foreign = tmp_path / "photos.convlens"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("a.txt", "hello")
    assert "is a zip archive but not a convlens model file: it has no convlens-model.json (members: a.txt)" \
        in _error(foreign)


def test_an_npz_file_is_refused_with_a_hint(tmp_path):
    npz = tmp_path / "weights.convlens"
    with open(npz, "wb") as handle:
        np.savez(handle, w=np.ones(3))
    assert "looks like an .npz file of arrays (weights only)" in _error(npz)
    plain = tmp_path / "weights.npz"
    cl.save_weights(cl.Linear(2, 2), plain)
    with pytest.raises(FormatError, match="weights.npz' is not a model file convlens can read"):
        cl.load(plain)


def test_a_text_file_is_refused(tmp_path):
    text = tmp_path / "notes.convlens"
    text.write_text("not a model")
    assert "is not a convlens model file: expected a zip archive" in _error(text)


def _with_manifest(path, edit):
    def change(name, data):
        if name == MANIFEST:
            manifest = json.loads(data)
            edit(manifest)
            return json.dumps(manifest).encode()
        return data

    out = _rewrite(path, change)
    with zipfile.ZipFile(out) as archive:  # a consistent checksum, as a newer convlens would write
        manifest = archive.read(MANIFEST)
    return _rewrite(out, lambda name, data: hashlib.sha256(manifest).hexdigest().encode()
                    if name == CHECKSUM else data)


def test_a_newer_format_is_refused_with_the_versions(saved):
    newer = _with_manifest(saved, lambda m: m.update(format_version=2, convlens_version="9.0"))
    message = _error(newer)
    assert "has format version 2 (written by convlens 9.0)" in message
    assert "reads format versions up to 1: upgrade convlens" in message


def test_a_changed_manifest_is_found(tmp_path):
    saved = cl.save(cl.models.get_model("simple_cnn"), tmp_path / "good.convlens", name="simple_cnn")
    edited = _rewrite(saved, lambda name, data: data.replace(b"simple_cnn", b"other_net!")
                      if name == MANIFEST else data)
    assert f"was changed after it was written: the SHA-256 of {MANIFEST}" in _error(edited)


def test_changed_weights_are_found(saved):
    def change(name, data):
        if name == "arrays/0.weight.npy":
            return data[:-4] + b"\x00\x00\x80\x3f"  # the last float becomes 1.0
        return data

    assert "was changed after it was written: the SHA-256 of arrays/0.weight.npy" in _error(_rewrite(saved, change))


def test_an_unknown_layer_class_names_the_place(saved):
    edited = _with_manifest(saved, lambda m: m["architecture"]["config"]["layers"][1].update({"class": "Warp"}))
    assert "describes a model this convlens cannot build: model.1: unknown layer class 'Warp'" in _error(edited)


def test_a_full_disk_keeps_the_previous_file(saved, monkeypatch):
    from disk_full import full_disk

    before = saved.read_bytes()
    full_disk(monkeypatch, ".convlens", budget=1000)
    with pytest.raises(OSError, match="No space left"):
        cl.save(cl.models.get_model("lenet5"), saved)
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]


def test_the_format_registry_writes_and_reads_convlens_files(tmp_path):
    from convlens.io import formats

    model = cl.models.get_model("seed_net")
    path = formats.export(model, tmp_path / "net.convlens", class_names=[str(k) for k in range(10)])
    assert formats.find_reader(path).name == "convlens"
    assert formats.load(path).info.class_names[3] == "3"


def test_a_graph_model_with_a_shared_layer_round_trips(tmp_path):
    x = cl.Input((3, 8, 8), name="image")
    conv = cl.Conv2d(3, 3, 3, padding=1)
    hidden = conv(cl.ReLU()(conv(x, name="conv1")), name="conv2")  # one layer, two nodes
    y = cl.Linear(3, 4)(cl.Flatten()(cl.GlobalAvgPool2d()(cl.Add()(hidden, x))))
    model = cl.Sequential(cl.Graph(inputs=x, outputs=y), cl.Softmax())
    loaded = cl.load(cl.save(model, tmp_path / "graph.convlens"))
    batch = np.random.default_rng(4).random((2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(loaded(batch), model.eval()(batch))
    graph = loaded[0]
    assert graph.nodes[0].layer is graph.nodes[2].layer


def test_a_member_that_unpacks_to_more_than_its_array_is_refused(saved):
    def change(name, data):
        return data + b"\0" * 100_000 if name == "arrays/0.bias.npy" else data

    assert "is corrupt: the member arrays/0.bias.npy unpacks to 100,160 bytes, more than the 4,128 it can hold" \
        in _error(_rewrite(saved, change))


def test_saving_to_a_folder_writes_model_convlens_inside_it_which_cl_load_reads(tmp_path):
    model = cl.Sequential(cl.Linear(3, 2))
    folder = tmp_path / "exported"
    folder.mkdir()
    assert cl.save(model, folder) == folder / "model.convlens"
    assert [p.name for p in tmp_path.iterdir()] == ["exported"]  # nothing beside the folder
    assert [p.name for p in folder.iterdir()] == ["model.convlens"]
    np.testing.assert_array_equal(cl.load(folder)[0].weight.data, model[0].weight.data)
    # a path ending in "/" means a folder even before it exists
    written = cl.save(model, f"{tmp_path / 'new'}/")
    assert written == tmp_path / "new" / "model.convlens" and written.is_file()
