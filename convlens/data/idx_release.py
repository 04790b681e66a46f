"""Datasets released as four IDX files, as MNIST and Fashion-MNIST are: find, download, load.

The four files are the training images and labels and the test images and labels::

    train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]
    t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]

They are looked for, in order, in

1. ``data_dir`` and ``data_dir/<name>`` (when a ``data_dir`` is given),
2. the release's system folders (Debian's ``/usr/share/datasets/fashion-mnist``),
3. the cache folder ``<cache>/<name>`` (:func:`convlens.data.download.cache_dir`),

and the first folder holding all four wins. If none does, the missing ``.gz`` files are
downloaded into the cache folder (with ``data_dir`` given, that is ``data_dir/<name>``).

A ``data_dir`` that holds some of the four files but not all is an error naming the missing
ones when another folder holds a full copy: the user pointed at that copy, so another one is
never used in its place silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convlens.data.dataset import Dataset
from convlens.data.download import RemoteFile, cache_dir, fetch_files
from convlens.data.idx import read_idx

KEYS = ("x_train", "y_train", "x_test", "y_test")
STEMS = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class IDXRelease:
    """Where a four-file IDX dataset comes from and what its classes are called.

    Attributes:
        name: registry name and cache sub-folder (``"mnist"``).
        title: name in messages (``"MNIST"``).
        class_names: ten class names, label order.
        url: canonical base URL of the ``.gz`` files.
        files: the expected ``.gz`` files, keyed like :data:`KEYS`.
        by_hand: one sentence on other ways to get the files (a package, a web page).
    """

    name: str
    title: str
    class_names: tuple[str, ...]
    url: str
    files: dict[str, RemoteFile]
    by_hand: str = ""


def _find_file(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def search_folders(release: IDXRelease, data_dir: Path | None, system_dirs: Sequence[Path]) -> list[Path]:
    """The folders searched, in order (see the module docstring)."""
    folders = [data_dir, data_dir / release.name] if data_dir is not None else []
    folders += list(system_dirs)
    cache = cache_dir(data_dir) / release.name
    if cache not in folders:
        folders.append(cache)
    return folders


def find_local(folders: Sequence[Path]) -> tuple[dict[str, Path] | None, list[str]]:
    """The four files from the first folder that holds all of them, and a line per folder searched."""
    report = []
    for folder in folders:
        if not folder.is_dir():
            report.append(f"  {folder}: no such folder")
            continue
        found = {key: _find_file(folder, stem) for key, stem in STEMS.items()}
        missing = [STEMS[key] + "[.gz]" for key, path in found.items() if path is None]
        if not missing:
            return {key: path for key, path in found.items() if path is not None}, report
        report.append(f"  {folder}: missing {', '.join(missing)}")
    return None, report


def _check_complete(release: IDXRelease, data_dir: Path) -> None:
    """Refuse a ``data_dir`` (or its ``<name>`` sub-folder) holding some of the files, not all."""
    for folder in (data_dir, data_dir / release.name):
        if not folder.is_dir():
            continue
        found = {stem: _find_file(folder, stem) for stem in STEMS.values()}
        missing = [f"{stem}[.gz]" for stem, path in found.items() if path is None]
        if missing and len(missing) < len(found):
            present = ", ".join(path.name for path in found.values() if path is not None)
            raise FileNotFoundError(
                f"{folder} holds an incomplete copy of {release.title}: it has {present} but not "
                f"{', '.join(missing)}; add the missing file(s), or point --data-dir at a folder "
                "with all four (convlens does not use another copy in place of the one given)")


def locate(
    release: IDXRelease,
    data_dir: Path | None,
    system_dirs: Sequence[Path] = (),
    *,
    download: bool = True,
    mirror: str | None = None,
    progress: bool = True,
) -> dict[str, Path]:
    """Paths of the four files, found locally or downloaded.

    Raises:
        DownloadError: (a ``FileNotFoundError``) not found and not downloadable; lists every
            folder searched, the URL and the cache folder, and how to place the files by hand.
    """
    found, report = find_local(search_folders(release, data_dir, system_dirs))
    if found is not None:
        if data_dir is not None and found["x_train"].parent not in (data_dir, data_dir / release.name):
            _check_complete(release, data_dir)  # found elsewhere: not in place of a partial copy
        return found
    folder = cache_dir(data_dir) / release.name
    by_name = fetch_files(
        release.name,
        [release.files[key] for key in KEYS],
        folder,
        release.url,
        download=download,
        mirror=mirror,
        searched=report,
        by_hand=release.by_hand,
        progress=progress,
    )
    return {key: by_name[release.files[key].name] for key in KEYS}


def read_images(path: Path, size: tuple[int, int] = (28, 28)) -> np.ndarray:
    """An ``idx3-ubyte`` image file as ``(N, 1, H, W)`` float32 in [0, 1]."""
    pixels = read_idx(path)
    if pixels.ndim != 3 or pixels.dtype != np.uint8 or pixels.shape[1:] != size:
        raise ValueError(
            f"{path}: expected uint8 images of shape (N, {size[0]}, {size[1]}), "
            f"received {pixels.dtype} {pixels.shape}"
        )
    images = np.empty((pixels.shape[0], 1, *pixels.shape[1:]), dtype=np.float32)
    np.multiply(pixels[:, None], np.float32(1.0 / 255.0), out=images)
    return images


def read_labels(path: Path) -> np.ndarray:
    """An ``idx1-ubyte`` label file as ``(N,)`` int64."""
    labels = read_idx(path)
    if labels.ndim != 1:
        raise ValueError(f"{path}: expected labels of shape (N,), received {labels.shape}")
    return labels.astype(np.int64)


def load_release(release: IDXRelease, files: dict[str, Path]) -> Dataset:
    """Read the four files into a :class:`Dataset` with the official train/test split."""
    x_train, y_train = read_images(files["x_train"]), read_labels(files["y_train"])
    x_test, y_test = read_images(files["x_test"]), read_labels(files["y_test"])
    for part, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if len(x) != len(y):
            raise ValueError(
                f"{release.name}: {files['x_' + part].name} holds {len(x)} images but "
                f"{files['y_' + part].name} holds {len(y)} labels: are the files from one release?"
            )
    return Dataset(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=release.class_names,
        name=release.name,
        description=f"{release.title} from {files['x_train'].parent} (official split)",
    )
