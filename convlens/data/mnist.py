"""``mnist``: LeCun, Cortes and Burges' 70,000 28x28 handwritten digits (the official split).

The four IDX files are looked for in ``data_dir`` (``--data-dir``), ``data_dir/mnist`` and the
download cache ``<cache>/mnist`` (see :mod:`convlens.data.idx_release`), and downloaded
from :data:`URL` into the cache when missing. yann.lecun.com no longer serves the files
reliably; :data:`URL` is the Google-hosted CVDF mirror used by TensorFlow and others.

Checksums: the original site publishes none. The SHA-256 values below are the ones recorded,
identically, by many independent public projects for these exact files, and the MD5 values
are torchvision's (one of those projects lists both for the same file); both are checked on
download. They could not be checked against the files here (no network when written).
For an offline machine, ``mnist-5k`` has 5,000 real MNIST digits without any download.
"""

from __future__ import annotations

from pathlib import Path

from convlens.data.dataset import Dataset
from convlens.data.download import RemoteFile
from convlens.data.idx_release import IDXRelease, load_release, locate
from convlens.data.registry import register_dataset

NAME = "mnist"
URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
CLASS_NAMES = tuple(str(d) for d in range(10))
REMOTE_FILES = {
    "x_train": RemoteFile(
        "train-images-idx3-ubyte.gz",
        sha256="440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        size=9_912_422,
        md5="f68b3c2dcbeaaa9fbdd348bbdeb94873",
    ),
    "y_train": RemoteFile(
        "train-labels-idx1-ubyte.gz",
        sha256="3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        size=28_881,
        md5="d53e105ee54ea40749a09fcbcd1e9432",
    ),
    "x_test": RemoteFile(
        "t10k-images-idx3-ubyte.gz",
        sha256="8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        size=1_648_877,
        md5="9fb629c4189551a2d022fa330f9573f3",
    ),
    "y_test": RemoteFile(
        "t10k-labels-idx1-ubyte.gz",
        sha256="f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        size=4_542,
        md5="ec29112dd5afa0611ce80d1b7f02629c",
    ),
}
_BY_HAND = "For a quick offline start, use the dataset mnist-5k instead (5,000 digits, no download)."


def release() -> IDXRelease:
    """The release description (built on call, so tests can patch the module constants)."""
    return IDXRelease(NAME, "MNIST", CLASS_NAMES, URL, REMOTE_FILES, _BY_HAND)


@register_dataset(NAME, "70,000 handwritten digits, 10 classes (60,000 train / 10,000 test); downloads 11 MB")
def load_mnist(data_dir: Path | None = None, download: bool = True, mirror: str | None = None) -> Dataset:
    """Load MNIST with its official split, downloading it into the cache on first use.

    Args:
        data_dir: folder searched first, and the download cache when given.
        download: download missing files into the cache.
        mirror: base URL to download from instead of :data:`URL` (or ``$CONVLENS_MIRROR``).
    """
    files = locate(release(), data_dir, download=download, mirror=mirror)
    return load_release(release(), files)
