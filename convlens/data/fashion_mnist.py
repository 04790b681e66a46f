"""``fashion-mnist``: Zalando's 70,000 28x28 grayscale images of clothing in 10 classes.

The four IDX files (the official 60,000 / 10,000 train/test split) are looked for, in order, in

1. ``data_dir`` (``--data-dir``) and ``data_dir/fashion-mnist``,
2. :data:`SYSTEM_DIR`, where Debian's ``dataset-fashion-mnist`` package installs them,
3. the download cache, ``<cache>/fashion-mnist`` (see :mod:`convlens.data.download`),

and downloaded from :data:`URL` into the cache when none holds all four. Each file may be
gzip-compressed (``train-images-idx3-ubyte.gz``, as distributed) or not.

Checksums: Zalando publishes the MD5 of each ``.gz`` file (README of
github.com/zalandoresearch/fashion-mnist; the same values are in torchvision). Zalando
publishes no SHA-256; the values below are the ones several independent public projects
record for those files (next to the published MD5 and sizes). Both digests are checked on
download; they could not be checked against the files here (no network when written).
Debian's copies are recompressed (another gzip timestamp), so their
bytes - and digests - differ from the published files while the decompressed data is the same.
"""

from __future__ import annotations

from pathlib import Path

from convlens.data.dataset import Dataset
from convlens.data.download import RemoteFile
from convlens.data.idx_release import STEMS, IDXRelease, find_local, load_release, locate, search_folders
from convlens.data.registry import register_dataset

NAME = "fashion-mnist"
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
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
FILES = STEMS
REMOTE_FILES = {
    "x_train": RemoteFile(
        "train-images-idx3-ubyte.gz",
        sha256="3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        size=26_421_880,
        md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    ),
    "y_train": RemoteFile(
        "train-labels-idx1-ubyte.gz",
        sha256="a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        size=29_515,
        md5="25c81989df183df01b3e8a0aad5dffbe",
    ),
    "x_test": RemoteFile(
        "t10k-images-idx3-ubyte.gz",
        sha256="346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        size=4_422_102,
        md5="bef4ecab320f06d8554ea6380940ec79",
    ),
    "y_test": RemoteFile(
        "t10k-labels-idx1-ubyte.gz",
        sha256="67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        size=5_148,
        md5="bb300cfdad3c16e7a12a480ee83cd310",
    ),
}
_BY_HAND = (
    "On Debian/Ubuntu, `sudo apt-get install dataset-fashion-mnist` installs them in "
    f"{SYSTEM_DIR}; they are also at https://github.com/zalandoresearch/fashion-mnist."
)


def release() -> IDXRelease:
    """The release description (built on call, so tests can patch the module constants)."""
    return IDXRelease(NAME, "Fashion-MNIST", CLASS_NAMES, URL, REMOTE_FILES, _BY_HAND)


def candidate_dirs(data_dir: Path | None) -> list[Path]:
    """The folders searched, in order."""
    return search_folders(release(), data_dir, [SYSTEM_DIR])


def find_fashion_mnist(data_dir: Path | None = None) -> dict[str, Path]:
    """The four files from the first folder that holds all of them (never downloads).

    Raises:
        FileNotFoundError: listing every folder searched, what each one lacks, and how to get
            the files.
    """
    found, report = find_local(candidate_dirs(data_dir))
    if found is not None:
        return found
    raise FileNotFoundError(
        "fashion-mnist not found. Searched:\n"
        + "\n".join(report)
        + "\nInstall it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or "
        "download the four files from https://github.com/zalandoresearch/fashion-mnist and "
        "pass their folder with --data-dir (data_dir= in Python)."
    )


@register_dataset(NAME, "Zalando's 70,000 clothing images, 10 classes (60,000 train / 10,000 test)")
def load_fashion_mnist(
    data_dir: Path | None = None, download: bool = True, mirror: str | None = None
) -> Dataset:
    """Load Fashion-MNIST with its official split; see the module docstring for the search.

    Args:
        data_dir: folder searched first, and the download cache when given.
        download: download missing files into the cache.
        mirror: base URL to download from instead of :data:`URL` (or ``$CONVLENS_MIRROR``).
    """
    files = locate(release(), data_dir, [SYSTEM_DIR], download=download, mirror=mirror)
    return load_release(release(), files)
