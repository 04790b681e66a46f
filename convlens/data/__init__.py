"""Datasets, splits and mini-batches.

>>> from convlens.data import load_dataset, DataLoader
>>> ds = load_dataset("mnist-5k")
>>> ds.x_train.shape, ds.num_classes
((4000, 1, 28, 28), 10)
>>> xb, yb = next(iter(DataLoader(ds.x_train, ds.y_train, batch_size=64, seed=0)))
>>> xb.shape
(64, 1, 28, 28)
"""

from convlens.data import fashion_mnist, mnist_5k  # noqa: F401  (register the datasets)
from convlens.data.dataset import Dataset
from convlens.data.idx import IDXError, read_idx, write_idx
from convlens.data.loader import DataLoader
from convlens.data.registry import (
    DatasetInfo,
    available_datasets,
    dataset_info,
    load_dataset,
    register_dataset,
)
from convlens.data.split import stratified_split, train_val_split

__all__ = [
    "DataLoader",
    "Dataset",
    "DatasetInfo",
    "IDXError",
    "available_datasets",
    "dataset_info",
    "load_dataset",
    "read_idx",
    "register_dataset",
    "stratified_split",
    "train_val_split",
    "write_idx",
]
