"""Downloads against a local HTTP server: verified, atomic, and clear when they cannot happen."""

import hashlib
import re
import socket

import numpy as np
import pytest

from convlens.data import (
    ChecksumError,
    DownloadError,
    RemoteFile,
    cache_dir,
    download_file,
    fashion_mnist,
    load_dataset,
    mnist,
    write_idx,
)
from convlens.data.download import base_url
from convlens.data.idx_release import KEYS


def _remote(name, body, **changes):
    fields = {
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
        "md5": hashlib.md5(body).hexdigest(),
    }
    fields.update(changes)
    return RemoteFile(name, **fields)


def _leftovers(folder):
    """Temporary files a download could have left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp")) if folder.exists() else []


@pytest.fixture
def idx_release(tmp_path, http_server, monkeypatch):
    """Tiny MNIST-format files on the server; ``mnist``'s checksum table points at them."""
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(12) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(5) % 10).astype(np.uint8),
    }
    remote = {}
    for key in KEYS:
        name = mnist.REMOTE_FILES[key].name
        write_idx(tmp_path / "fixtures" / name, arrays[key])
        body = (tmp_path / "fixtures" / name).read_bytes()
        http_server.files[name] = body
        remote[key] = _remote(name, body)
    monkeypatch.setattr(mnist, "REMOTE_FILES", remote)
    monkeypatch.setattr(fashion_mnist, "REMOTE_FILES", remote)
    return arrays


def test_good_files_are_downloaded_verified_and_loaded(tmp_path, http_server, idx_release):
    ds = load_dataset("mnist", mirror=http_server.url)
    assert ds.x_train.shape == (12, 1, 28, 28) and ds.x_test.shape == (5, 1, 28, 28)
    np.testing.assert_allclose(ds.x_train[:, 0] * 255, idx_release["x_train"], atol=1e-4)
    np.testing.assert_array_equal(ds.y_test, idx_release["y_test"])
    folder = tmp_path / "cache" / "mnist"  # CONVLENS_DATA/mnist
    assert sorted(p.name for p in folder.iterdir()) == sorted(http_server.files)
    assert len(http_server.requests) == 4
    load_dataset("mnist", mirror=http_server.url)
    assert len(http_server.requests) == 4  # the second load reads the cache


def test_mirror_from_the_environment_and_data_dir_as_cache(tmp_path, http_server, idx_release, monkeypatch):
    monkeypatch.setenv("CONVLENS_MIRROR", http_server.url)
    ds = load_dataset("mnist", data_dir=tmp_path / "mine")
    assert (tmp_path / "mine" / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()
    assert str(tmp_path / "mine" / "mnist") in ds.description
    assert not (tmp_path / "cache").exists()


def test_only_missing_files_are_downloaded(tmp_path, http_server, idx_release):
    folder = tmp_path / "cache" / "mnist"
    folder.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (folder / name).write_bytes(http_server.files[name])
    load_dataset("mnist", mirror=http_server.url)
    assert sorted(http_server.requests) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def test_fashion_mnist_downloads_when_no_local_copy(tmp_path, http_server, idx_release, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "no-system-copy")
    ds = load_dataset("fashion-mnist", mirror=http_server.url)
    assert ds.class_names[0] == "T-shirt/top" and len(ds.y_train) == 12
    assert (tmp_path / "cache" / "fashion-mnist" / "train-images-idx3-ubyte.gz").is_file()


def test_wrong_checksum_is_an_error_and_leaves_no_file(tmp_path, http_server, idx_release, monkeypatch):
    good = mnist.REMOTE_FILES
    bad = dict(good, y_test=RemoteFile(good["y_test"].name, sha256="0" * 64))
    monkeypatch.setattr(mnist, "REMOTE_FILES", bad)
    with pytest.raises(
        ChecksumError, match=r"t10k-labels-idx1-ubyte.gz: SHA-256 mismatch: expected 0{64}, received"
    ):
        load_dataset("mnist", mirror=http_server.url)
    folder = tmp_path / "cache" / "mnist"
    assert not (folder / "t10k-labels-idx1-ubyte.gz").exists()
    assert _leftovers(folder) == []


def test_md5_and_size_are_checked_too(tmp_path, http_server):
    body = b"0123456789" * 100
    http_server.files["f.bin"] = body
    with pytest.raises(ChecksumError, match="MD5 mismatch: expected 00000000"):
        download_file(http_server.url + "f.bin", tmp_path / "f.bin", _remote("f.bin", body, md5="0" * 32))
    with pytest.raises(ChecksumError, match="expected 999 bytes, received 1000"):
        download_file(http_server.url + "f.bin", tmp_path / "f.bin", _remote("f.bin", body, size=999))
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_truncated_transfer_leaves_no_partial_file_and_keeps_the_old_one(tmp_path, http_server):
    new = bytes(range(256)) * 40
    http_server.files["data.bin"] = new
    http_server.truncate.add("data.bin")
    dest = tmp_path / "cache" / "data.bin"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"the previous good copy")
    with pytest.raises(DownloadError, match=r"transfer cut short: received 5120 of 10240 bytes"):
        download_file(http_server.url + "data.bin", dest, _remote("data.bin", new))
    assert dest.read_bytes() == b"the previous good copy"
    assert _leftovers(dest.parent) == []


def test_truncated_dataset_file_names_the_remedy(tmp_path, http_server, idx_release):
    http_server.truncate.add("t10k-images-idx3-ubyte.gz")
    with pytest.raises(DownloadError) as info:
        load_dataset("mnist", mirror=http_server.url)
    message = str(info.value)
    assert "transfer cut short" in message and "run again to retry" in message
    folder = tmp_path / "cache" / "mnist"
    assert not (folder / "t10k-images-idx3-ubyte.gz").exists() and _leftovers(folder) == []
    assert (folder / "train-images-idx3-ubyte.gz").is_file()  # earlier files are complete and kept


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_error_names_url_cache_and_how_to_place_files(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVLENS_OFFLINE")
    url = f"http://127.0.0.1:{_closed_port()}/"
    with pytest.raises(DownloadError) as info:
        load_dataset("mnist", mirror=url)
    message = str(info.value)
    folder = tmp_path / "cache" / "mnist"
    assert message.startswith("mnist not found. Searched:\n")
    assert f"{url}train-images-idx3-ubyte.gz: cannot connect" in message
    assert f"cache folder: {folder}" in message
    assert re.search(rf"put train-images-idx3-ubyte.gz, .* into {re.escape(str(folder))}", message)
    assert "--data-dir" in message and "CONVLENS_MIRROR" in message and "mnist-5k" in message
    assert not folder.exists() or _leftovers(folder) == []


def test_http_error_is_reported(tmp_path, http_server):
    with pytest.raises(DownloadError, match=r"missing.bin: the server answered HTTP 404"):
        download_file(http_server.url + "missing.bin", tmp_path / "x", RemoteFile("x", "0" * 64))
    assert not (tmp_path / "x").exists()


def test_a_stalled_server_times_out(tmp_path, http_server):
    http_server.files["slow.bin"] = b"x" * 100
    http_server.stall.add("slow.bin")
    with pytest.raises(DownloadError, match=r"no data for 0.3 s \(timed out\)"):
        download_file(
            http_server.url + "slow.bin", tmp_path / "slow.bin", _remote("slow.bin", b"x" * 100), timeout=0.3
        )
    assert list(tmp_path.iterdir()) == []


def test_download_false_and_offline_never_touch_the_network(tmp_path, http_server, idx_release, monkeypatch):
    with pytest.raises(
        DownloadError, match=r"downloads are off \(download=False\); it would be downloaded from"
    ):
        load_dataset("mnist", download=False, mirror=http_server.url)
    monkeypatch.setenv("CONVLENS_OFFLINE", "1")
    with pytest.raises(DownloadError, match=r"downloads are off \(CONVLENS_OFFLINE is set\)"):
        load_dataset("mnist", mirror=http_server.url)
    assert http_server.requests == []


def test_cache_dir_precedence(tmp_path, monkeypatch):
    assert cache_dir(tmp_path / "given") == tmp_path / "given"
    assert cache_dir() == tmp_path / "cache"  # CONVLENS_DATA, set for every data test
    monkeypatch.delenv("CONVLENS_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "convlens"


def test_base_url_precedence(monkeypatch):
    assert base_url("https://canonical/x") == "https://canonical/x/"
    monkeypatch.setenv("CONVLENS_MIRROR", "http://env-mirror")
    assert base_url("https://canonical/x/") == "http://env-mirror/"
    assert base_url("https://canonical/x/", "http://arg") == "http://arg/"


@pytest.mark.parametrize("module", [mnist, fashion_mnist])
def test_published_checksum_tables_are_well_formed(module):
    names = [f.name for f in module.REMOTE_FILES.values()]
    assert sorted(names) == sorted(
        [
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
        ]
    )
    for remote in module.REMOTE_FILES.values():
        assert re.fullmatch(r"[0-9a-f]{64}", remote.sha256) and re.fullmatch(r"[0-9a-f]{32}", remote.md5)
        assert remote.size > 4000
    assert module.URL.startswith(("https://storage.googleapis.com/cvdf-datasets/", "http://fashion-mnist.s3"))
