"""Generated bad data files for every loader (IDX, CSV, npz, image folders, text): each either
loads into a valid Dataset or is refused with a ValueError / FileNotFoundError that names the
file; nothing is ever unpickled, and nothing else (OverflowError, MemoryError, an
AttributeError from deep inside) comes out."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from convlens.data import Dataset, load_dataset
from convlens.data.idx import IDXError, read_idx

FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def never_unpickle(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a data file was unpickled")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)


def _check(load, named: str) -> None:
    """``load()`` gives a valid Dataset or a documented error naming ``named``."""
    try:
        ds = load()
    except (ValueError, FileNotFoundError) as err:
        assert named in str(err) or ", option " in str(err), f"the message names neither {named} nor the option: {err}"
        return
    assert isinstance(ds, Dataset)
    for x in (ds.x_train, ds.x_test):
        assert x.dtype.kind in "fi" and (x.dtype.kind == "i" or np.isfinite(x).all())
    if ds.task == "classification":
        assert 2 <= ds.num_classes and ds.y_train.max(initial=0) < ds.num_classes


# -- IDX ---------------------------------------------------------------------------------------
@FUZZ
@given(code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x07, 0xFF]),
       ndim=st.integers(0, 4), dims=st.lists(st.sampled_from([0, 1, 2, 3, 28, 2**16, 2**31, 2**32 - 1]),
                                             min_size=0, max_size=4),
       payload=st.binary(max_size=64), magic=st.sampled_from([b"\x00\x00", b"\x00\x01", b"PK"]),
       compress=st.sampled_from(["no", "gzip", "broken gzip"]))
def test_idx_headers(code, ndim, dims, payload, magic, compress):
    raw = magic + bytes([code, ndim]) + struct.pack(f">{len(dims)}I", *dims) + payload
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("f.gz" if compress != "no" else "f")
        path.write_bytes(gzip.compress(raw) if compress == "gzip" else
                         raw if compress == "no" else gzip.compress(raw)[:-6])
        try:
            array = read_idx(path)
        except IDXError as err:
            assert str(path) in str(err)
            assert "-" not in str(err).split("received")[-1].split("(")[0], f"a negative count: {err}"
            return
        assert array.size * array.dtype.itemsize == len(raw) - 4 - 4 * ndim


# -- CSV ---------------------------------------------------------------------------------------
FIELDS = st.sampled_from(["0", "1", "2", "0.5", "-3.25", "1e3", "0.1.2", "1e", "", "nan", "inf", "abc",
                          "label", "\x00", "1\x00", "1000000000000", "1e300", "-1", "2.5", "é", "  7 "])


@FUZZ
@given(lines=st.lists(st.lists(FIELDS, min_size=1, max_size=5), min_size=0, max_size=12),
       header=st.sampled_from(["auto", True, False]), task=st.sampled_from(["classification", "binary",
                                                                           "regression"]))
def test_csv_lines(lines, header, task):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.csv"
        path.write_text("\n".join(",".join(fields) for fields in lines), encoding="utf-8")
        _check(lambda: load_dataset(f"csv:{path}", header=header, task=task), "data.csv")


@FUZZ
@given(content=st.binary(max_size=200))
def test_csv_random_bytes(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bytes.csv"
        path.write_bytes(content)
        _check(lambda: load_dataset(f"csv:{path}"), "bytes.csv")


# -- npz ---------------------------------------------------------------------------------------
def _member(kind: str, n: int) -> bytes:
    buffer = io.BytesIO()
    arrays = {
        "images": np.random.default_rng(n).random((n, 1, 3, 3)).astype(np.float32),
        "labels": np.arange(n) % 3, "huge labels": np.full(n, 10**12), "float labels": np.linspace(0, 1, n),
        "complex": np.zeros((n, 1, 2, 2), complex), "strings": np.full((n, 1, 2), "ab"),
        "nan": np.full((n, 1, 2, 2), np.nan), "flat": np.zeros(n), "empty": np.zeros((0, 1, 2, 2)),
    }
    if kind == "objects":
        np.save(buffer, np.array([None] * n, dtype=object), allow_pickle=True)
    elif kind == "text":
        return b"just some text"
    elif kind == "truncated":
        np.save(buffer, arrays["images"])
        return buffer.getvalue()[:40]
    else:
        np.save(buffer, arrays[kind])
    return buffer.getvalue()


@FUZZ
@given(members=st.dictionaries(st.sampled_from(["x.npy", "y.npy", "x_train.npy", "y_train.npy", "x_test.npy",
                                                "y_test.npy", "class_names.npy", "notes.txt"]),
                               st.sampled_from(["images", "labels", "huge labels", "float labels", "complex",
                                                "strings", "nan", "flat", "empty", "objects", "text",
                                                "truncated"]), max_size=5),
       n=st.integers(1, 8), cut=st.sampled_from([None, 10, 100]))
def test_npz_members(members, n, cut):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "arrays.npz"
        with zipfile.ZipFile(path, "w") as archive:
            for name, kind in members.items():
                archive.writestr(name, _member(kind, n))
        if cut is not None:
            path.write_bytes(path.read_bytes()[:cut])
        _check(lambda: load_dataset(f"npz:{path}"), "arrays")


# -- image folders -----------------------------------------------------------------------------
@FUZZ
@given(classes=st.lists(st.lists(st.sampled_from(["png", "gray png", "random bytes", "empty", "text"]),
                                 max_size=3), max_size=3),
       image_size=st.sampled_from([None, 4, 100000]))
def test_image_folders(classes, image_size):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "pets"
        root.mkdir()
        for k, files in enumerate(classes):
            (root / f"class{k}").mkdir()
            for i, kind in enumerate(files):
                path = root / f"class{k}" / f"{i}.png"
                if kind in ("png", "gray png"):
                    mode = "RGB" if kind == "png" else "L"
                    Image.new(mode, (5 + i, 5), color=40 * k if mode == "L" else (40 * k, 0, 0)).save(path)
                else:
                    path.write_bytes({"random bytes": bytes(range(50)), "empty": b"", "text": b"hello"}[kind])
        options = {} if image_size is None else {"image_size": image_size}
        _check(lambda: load_dataset(f"folder:{root}", **options), "pets")


# -- text --------------------------------------------------------------------------------------
@FUZZ
@given(lines=st.lists(st.tuples(st.sampled_from(["a good film", "bad", "", "\x00", "tab\tinside", "é"]),
                                st.sampled_from(["\t", " ", "\t\t"]),
                                st.sampled_from(["pos", "neg", "", "1", "10"])), max_size=10),
       tail=st.sampled_from([b"", b"\xff\xfe bad utf-8", b"\x00"]))
def test_text_lines(lines, tail):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reviews.tsv"
        path.write_bytes("\n".join(t + sep + label for t, sep, label in lines).encode() + tail)
        _check(lambda: load_dataset(f"text:{path}"), "reviews.tsv")
