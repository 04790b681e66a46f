"""``cifar10``: Krizhevsky's 60,000 32x32 colour images in 10 classes, from the binary release.

The *binary* release (``cifar-10-binary.tar.gz``, 162 MB) is read, never the Python one: that
one is pickled, and unpickling a downloaded file can run arbitrary code. The archive holds
``cifar-10-batches-bin/`` with six files of fixed-size records, 1 label byte then
3 x 32 x 32 pixel bytes (red plane, green plane, blue plane, each row-major)::

    data_batch_1.bin ... data_batch_5.bin   10,000 records each: the 50,000 training images
    test_batch.bin                          10,000 records: the test images
    batches.meta.txt                        the ten class names, one per line

Members are read straight out of the archive as file objects (``tarfile.extractfile``):
nothing is extracted to disk, so member paths (``../``, links) cannot write anywhere.

Search order: ``data_dir``, ``data_dir/cifar10``, then the cache ``<cache>/cifar10``; each
may hold the archive or its extracted ``cifar-10-batches-bin/`` folder. Missing everywhere,
the archive is downloaded from :data:`URL` into the cache.

Checksums: the CIFAR page publishes the archive's MD5 (:data:`ARCHIVE`), checked on
download together with a SHA-256 recorded by independent public projects for the same
170,052,171-byte file (not checkable here: no network when written).
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np

from convlens.data.dataset import Dataset
from convlens.data.download import RemoteFile, cache_dir, fetch_files
from convlens.data.registry import register_dataset

NAME = "cifar10"
URL = "https://www.cs.toronto.edu/~kriz/"
ARCHIVE = RemoteFile(
    "cifar-10-binary.tar.gz",
    sha256="c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
    size=170_052_171,
    md5="c32a1d4ab5d03f1284b67883e8d87530",
)
FOLDER = "cifar-10-batches-bin"
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
META_FILE = "batches.meta.txt"
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_SHAPE = (3, 32, 32)
RECORD_BYTES = 1 + 3 * 32 * 32
BATCH_RECORDS = 10_000  # records in each batch file of the release
_META_MAX_BYTES = 1 << 16  # batches.meta.txt holds ten class names


class CIFARFormatError(ValueError):
    """A CIFAR-10 binary file or archive is not what the format says."""


class CIFARArrays(NamedTuple):
    """The release as stored: uint8 ``(N, 3, 32, 32)`` pixels, int64 labels, class names."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]


def parse_records(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Records of one batch file -> ``(N, 3, 32, 32)`` uint8 pixels and ``(N,)`` int64 labels."""
    if len(raw) == 0 or len(raw) % RECORD_BYTES:
        raise CIFARFormatError(
            f"{where}: expected a whole number of {RECORD_BYTES}-byte records (1 label byte + "
            f"3072 pixel bytes), received {len(raw)} bytes ({len(raw) / RECORD_BYTES:.2f} records)"
        )
    table = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    labels = table[:, 0].astype(np.int64)
    if labels.max() >= len(CLASS_NAMES):
        bad = int(np.flatnonzero(labels >= len(CLASS_NAMES))[0])
        raise CIFARFormatError(
            f"{where}: record {bad} has label {labels[bad]}, expected 0-9: is this the CIFAR-100 "
            "binary release (2 label bytes per record) or another file?"
        )
    return table[:, 1:].reshape(-1, *IMAGE_SHAPE), labels


def _class_names(text: str | None, where: str) -> tuple[str, ...]:
    if text is None:
        return CLASS_NAMES
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) != len(CLASS_NAMES):
        raise CIFARFormatError(
            f"{where}: expected {len(CLASS_NAMES)} class names, received {len(names)}: {names}"
        )
    return names


def _assemble(read: dict[str, bytes], meta: str | None, where: str) -> CIFARArrays:
    missing = [name for name in (*TRAIN_FILES, TEST_FILE) if name not in read]
    if missing:
        raise CIFARFormatError(f"{where}: missing {', '.join(missing)} (expected {FOLDER}/ with six batches)")
    train = [parse_records(read[name], f"{where}:{name}") for name in TRAIN_FILES]
    x_test, y_test = parse_records(read[TEST_FILE], f"{where}:{TEST_FILE}")
    return CIFARArrays(
        x_train=np.concatenate([x for x, _ in train]),
        y_train=np.concatenate([y for _, y in train]),
        x_test=x_test,
        y_test=y_test,
        class_names=_class_names(meta, f"{where}:{META_FILE}"),
    )


def read_archive(path: Path) -> CIFARArrays:
    """Read ``cifar-10-binary.tar.gz`` without extracting it.

    Returns:
        ``x_train`` ``(50000, 3, 32, 32)`` uint8, ``y_train`` ``(50000,)`` int64, ``x_test``,
        ``y_test``, and ``class_names`` (from ``batches.meta.txt`` when present); the order
        of the records is kept (batches 1 to 5).

    Raises:
        CIFARFormatError: not a tar.gz archive, missing batches, or records of the wrong size.
    """
    wanted = {*TRAIN_FILES, TEST_FILE, META_FILE}
    read: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                base = member.name.rsplit("/", 1)[-1]
                if base not in wanted or not member.isfile():  # links, folders, other files: ignored
                    continue
                if base in read:
                    raise CIFARFormatError(f"{path}: holds {base} twice; expected one {FOLDER}/ folder")
                is_meta = base == META_FILE
                most = _META_MAX_BYTES if is_meta else BATCH_RECORDS * RECORD_BYTES
                if member.size > most:  # a gzip bomb would unpack it to gigabytes: never read
                    records = "" if is_meta else f" ({BATCH_RECORDS:,} records of {RECORD_BYTES} bytes)"
                    raise CIFARFormatError(f"{path}: {member.name} is {member.size:,} bytes, expected at "
                                           f"most {most:,}{records}; it was not read")
                handle: IO[bytes] | None = archive.extractfile(member)
                if handle is not None:
                    read[base] = handle.read()
    except (tarfile.TarError, OSError, EOFError) as err:
        raise CIFARFormatError(f"{path}: cannot read the tar.gz archive ({err})") from err
    meta = read.pop(META_FILE, None)
    return _assemble(read, None if meta is None else meta.decode("utf-8", "replace"), str(path))


def read_folder(folder: Path) -> CIFARArrays:
    """Read an extracted ``cifar-10-batches-bin/`` folder; returns what :func:`read_archive` does."""
    read = {
        name: (folder / name).read_bytes() for name in (*TRAIN_FILES, TEST_FILE) if (folder / name).is_file()
    }
    meta_path = folder / META_FILE
    meta = meta_path.read_text("utf-8", "replace") if meta_path.is_file() else None
    return _assemble(read, meta, str(folder))


def _find_local(data_dir: Path | None) -> tuple[Path | None, list[str]]:
    folders = [data_dir, data_dir / NAME] if data_dir is not None else []
    cache = cache_dir(data_dir) / NAME
    if cache not in folders:
        folders.append(cache)
    report: list[str] = []
    for folder in folders:
        for candidate in (folder / ARCHIVE.name, folder / FOLDER, folder):
            if candidate.suffix == ".gz" and candidate.is_file():
                return candidate, report
            if candidate.is_dir() and (candidate / TEST_FILE).is_file():
                return candidate, report
        report.append(f"  {folder}: no {ARCHIVE.name}, no {FOLDER}/")
    return None, report


@register_dataset(
    NAME, "60,000 32x32 colour images, 10 classes (50,000 train / 10,000 test); downloads 162 MB"
)
def load_cifar10(data_dir: Path | None = None, download: bool = True, mirror: str | None = None) -> Dataset:
    """Load CIFAR-10 with its official split as float32 ``(N, 3, 32, 32)`` images in [0, 1].

    Args:
        data_dir: folder searched first, and the download cache when given.
        download: download the archive into the cache if it is nowhere to be found.
        mirror: base URL to download from instead of :data:`URL` (or ``$CONVLENS_MIRROR``).
    """
    source, report = _find_local(data_dir)
    if source is None:
        folder = cache_dir(data_dir) / NAME
        source = fetch_files(
            NAME,
            [ARCHIVE],
            folder,
            URL,
            download=download,
            mirror=mirror,
            searched=report,
            by_hand=f"An extracted {FOLDER}/ folder works too.",
        )[ARCHIVE.name]
    arrays = read_archive(source) if source.is_file() else read_folder(source)

    def scaled(pixels: np.ndarray) -> np.ndarray:
        out = np.empty(pixels.shape, dtype=np.float32)
        np.multiply(pixels, np.float32(1.0 / 255.0), out=out)
        return out

    return Dataset(
        x_train=scaled(arrays.x_train),
        y_train=arrays.y_train,
        x_test=scaled(arrays.x_test),
        y_test=arrays.y_test,
        class_names=arrays.class_names,
        name=NAME,
        description=f"CIFAR-10 (binary release) from {source} (official split)",
    )
