"""``fashion-mnist``: Zalando's 70,000 28x28 grayscale images of clothing in 10 classes.

The four IDX files (the official 60,000 / 10,000 train/test split) are looked for, in order, in

1. ``data_dir`` (``--data-dir``) and ``data_dir/fashion-mnist``,
2. :data:`SYSTEM_DIR`, where Debian's ``dataset-fashion-mnist`` package installs them.

Each file may be gzip-compressed (``train-images-idx3-ubyte.gz``, as distributed) or not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convlens.data.dataset import Dataset
from convlens.data.idx import read_idx
from convlens.data.registry import register_dataset

NAME = "fashion-mnist"
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def candidate_dirs(data_dir: Path | None) -> list[Path]:
    """The folders searched, in order."""
    dirs = [data_dir, data_dir / "fashion-mnist"] if data_dir is not None else []
    return [*dirs, SYSTEM_DIR]


def _find_file(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def find_fashion_mnist(data_dir: Path | None = None) -> dict[str, Path]:
    """The four files from the first folder that holds all of them.

    Raises:
        FileNotFoundError: listing every folder searched, what each one lacks, and how to get
            the files.
    """
    report = []
    for folder in candidate_dirs(data_dir):
        if not folder.is_dir():
            report.append(f"  {folder}: no such folder")
            continue
        found = {key: _find_file(folder, stem) for key, stem in FILES.items()}
        missing = [FILES[key] + "[.gz]" for key, path in found.items() if path is None]
        if not missing:
            return {key: path for key, path in found.items() if path is not None}
        report.append(f"  {folder}: missing {', '.join(missing)}")
    raise FileNotFoundError(
        "fashion-mnist not found. Searched:\n"
        + "\n".join(report)
        + "\nInstall it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or "
        "download the four files from https://github.com/zalandoresearch/fashion-mnist and "
        "pass their folder with --data-dir (data_dir= in Python)."
    )


def _images(path: Path) -> np.ndarray:
    pixels = read_idx(path)
    if pixels.ndim != 3 or pixels.dtype != np.uint8:
        raise ValueError(
            f"{path}: expected uint8 images of shape (N, 28, 28), received {pixels.dtype} {pixels.shape}"
        )
    images = np.empty((pixels.shape[0], 1, *pixels.shape[1:]), dtype=np.float32)
    np.multiply(pixels[:, None], np.float32(1.0 / 255.0), out=images)
    return images


def _labels(path: Path) -> np.ndarray:
    labels = read_idx(path)
    if labels.ndim != 1:
        raise ValueError(f"{path}: expected labels of shape (N,), received {labels.shape}")
    return labels.astype(np.int64)


@register_dataset(NAME, "Zalando's 70,000 clothing images, 10 classes (60,000 train / 10,000 test)")
def load_fashion_mnist(data_dir: Path | None = None) -> Dataset:
    """Load Fashion-MNIST with its official split; see the module docstring for the search."""
    files = find_fashion_mnist(data_dir)
    return Dataset(
        x_train=_images(files["x_train"]),
        y_train=_labels(files["y_train"]),
        x_test=_images(files["x_test"]),
        y_test=_labels(files["y_test"]),
        class_names=CLASS_NAMES,
        name=NAME,
        description=f"Fashion-MNIST from {files['x_train'].parent} (official split)",
    )
