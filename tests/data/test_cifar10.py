"""CIFAR-10 binary release: parsed from a synthetic tar.gz, never extracted, never unpickled."""

import hashlib
import io
import tarfile

import numpy as np
import pytest

from convlens.data import cifar10, load_dataset
from convlens.data.cifar10 import (
    ARCHIVE,
    FOLDER,
    RECORD_BYTES,
    CIFARFormatError,
    RemoteFile,
    read_archive,
    read_folder,
)

PER_BATCH = 3


def _records(rng, n, first_label=0):
    labels = (np.arange(n) + first_label) % 10
    pixels = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    return np.concatenate([labels[:, None].astype(np.uint8), pixels], axis=1), labels, pixels


def _batches(seed=0):
    rng = np.random.default_rng(seed)
    batches = {}
    for i in range(1, 6):
        batches[f"data_batch_{i}.bin"] = _records(rng, PER_BATCH, first_label=i)
    batches["test_batch.bin"] = _records(rng, 4)
    return batches


def _add(archive, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def _archive(
    path, batches, meta=b"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n", extra=()
):
    with tarfile.open(path, "w:gz") as archive:
        for name, (table, _, _) in batches.items():
            _add(archive, f"{FOLDER}/{name}", table.tobytes())
        if meta is not None:
            _add(archive, f"{FOLDER}/batches.meta.txt", meta)
        for add in extra:
            add(archive)
    return path


def test_records_are_label_byte_then_three_colour_planes(tmp_path):
    batches = _batches()
    arrays = read_archive(_archive(tmp_path / ARCHIVE.name, batches))
    assert arrays.x_train.shape == (5 * PER_BATCH, 3, 32, 32) and arrays.x_train.dtype == np.uint8
    assert arrays.x_test.shape == (4, 3, 32, 32)
    # training records keep the batch order 1..5
    expected_labels = np.concatenate([batches[f"data_batch_{i}.bin"][1] for i in range(1, 6)])
    np.testing.assert_array_equal(arrays.y_train, expected_labels)
    _, _, pixels = batches["data_batch_2.bin"]
    n, c, i, j = PER_BATCH + 1, 2, 5, 7  # second record of batch 2, blue plane
    assert arrays.x_train[n, c, i, j] == pixels[1, c * 1024 + i * 32 + j]
    np.testing.assert_array_equal(arrays.x_test.reshape(4, -1), batches["test_batch.bin"][2])
    assert arrays.class_names[0] == "airplane" and arrays.class_names[9] == "truck"


def test_links_and_other_members_are_ignored_and_nothing_is_extracted(tmp_path, monkeypatch):
    def link(archive):
        info = tarfile.TarInfo("../outside/data_batch_1.bin")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        archive.addfile(info)

    def readme(archive):
        _add(archive, f"{FOLDER}/readme.html", b"<html>")

    path = _archive(tmp_path / ARCHIVE.name, _batches(), extra=(link, readme))
    monkeypatch.setattr(tarfile.TarFile, "extractall", lambda *a, **k: pytest.fail("extractall called"))
    monkeypatch.setattr(tarfile.TarFile, "extract", lambda *a, **k: pytest.fail("extract called"))
    arrays = read_archive(path)
    assert len(arrays.y_train) == 5 * PER_BATCH
    assert sorted(p.name for p in tmp_path.iterdir()) == [ARCHIVE.name]


def test_loader_scales_to_unit_range_from_the_cache(tmp_path):
    batches = _batches()
    folder = tmp_path / "cache" / "cifar10"
    folder.mkdir(parents=True)
    _archive(folder / ARCHIVE.name, batches)
    ds = load_dataset("cifar10")
    assert ds.x_train.dtype == np.float32 and ds.input_shape == (3, 32, 32)
    np.testing.assert_allclose(ds.x_test.reshape(4, -1) * 255, batches["test_batch.bin"][2], atol=1e-3)
    assert ds.num_classes == 10 and "binary release" in ds.description


def test_extracted_folder_in_data_dir(tmp_path):
    batches = _batches()
    folder = tmp_path / "mine" / FOLDER
    folder.mkdir(parents=True)
    for name, (table, _, _) in batches.items():
        (folder / name).write_bytes(table.tobytes())
    ds = load_dataset("cifar10", data_dir=tmp_path / "mine")
    assert len(ds.y_train) == 5 * PER_BATCH and ds.class_names == cifar10.CLASS_NAMES  # no meta file
    np.testing.assert_array_equal(read_folder(folder).y_test, batches["test_batch.bin"][1])


def test_download_from_a_mirror(tmp_path, http_server, monkeypatch):
    body = _archive(tmp_path / "served.tar.gz", _batches()).read_bytes()
    http_server.files[ARCHIVE.name] = body
    monkeypatch.setattr(
        cifar10, "ARCHIVE", RemoteFile(ARCHIVE.name, hashlib.sha256(body).hexdigest(), len(body))
    )
    ds = load_dataset("cifar10", mirror=http_server.url)
    assert len(ds.y_test) == 4
    assert (tmp_path / "cache" / "cifar10" / ARCHIVE.name).read_bytes() == body


def test_not_found_offline_lists_places(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_dataset("cifar10", data_dir=tmp_path / "d")
    message = str(info.value)
    assert message.startswith("cifar10 not found. Searched:")
    assert f"{tmp_path / 'd'}: no cifar-10-binary.tar.gz, no cifar-10-batches-bin/" in message
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" in message


def test_record_size_is_checked(tmp_path):
    batches = _batches()
    table, labels, pixels = batches["test_batch.bin"]
    batches["test_batch.bin"] = (table[:, :-1], labels, pixels)  # 3072-byte records
    with pytest.raises(
        CIFARFormatError, match=rf"test_batch.bin: expected a whole number of {RECORD_BYTES}-byte"
    ):
        read_archive(_archive(tmp_path / "a.tar.gz", batches))


def test_missing_batch_and_bad_labels_are_named(tmp_path):
    batches = _batches()
    del batches["data_batch_4.bin"]
    with pytest.raises(CIFARFormatError, match="missing data_batch_4.bin"):
        read_archive(_archive(tmp_path / "a.tar.gz", batches))
    batches = _batches()
    batches["data_batch_1.bin"][0][1, 0] = 57  # CIFAR-100 coarse/fine label bytes look like this
    with pytest.raises(CIFARFormatError, match="record 1 has label 57, expected 0-9: is this the CIFAR-100"):
        read_archive(_archive(tmp_path / "b.tar.gz", batches))


def test_not_an_archive(tmp_path):
    path = tmp_path / ARCHIVE.name
    path.write_bytes(b"\x80\x04pickle data, not a tar")
    with pytest.raises(CIFARFormatError, match="cannot read the tar.gz archive"):
        read_archive(path)


def test_a_member_larger_than_a_batch_of_the_release_is_refused_unread(tmp_path):
    def bomb(archive):  # 64 MiB of zeros: a few hundred KiB once compressed
        info = tarfile.TarInfo(f"{FOLDER}/data_batch_1.bin")
        info.size = 64 << 20
        archive.addfile(info, io.BytesIO(bytes(info.size)))

    batches = _batches()
    del batches["data_batch_1.bin"]
    path = _archive(tmp_path / "cifar-10-binary.tar.gz", batches, extra=[bomb])
    with pytest.raises(CIFARFormatError, match=rf"{FOLDER}/data_batch_1.bin is 67,108,864 bytes, expected at most "
                                               r"30,730,000 \(10,000 records of 3073 bytes\); it was not read"):
        read_archive(path)
