"""Downloads that never leave a half file: the cache folder, checksums, atomic placement.

Where files go (first that applies):

1. ``data_dir`` (``--data-dir``),
2. the environment variable ``CONVLENS_DATA``,
3. ``~/.cache/convlens``.

Each dataset gets a sub-folder (``~/.cache/convlens/mnist/``). A download streams into a
temporary file *in that folder* (:func:`convlens.io.atomic_write`), hashing as it goes, and is
moved into place with ``os.replace`` only when every byte announced by the server arrived and
the SHA-256 (and, where the publisher gives one, the MD5) matches. Anything else - no network,
an HTTP error, a transfer cut short, a wrong checksum, Ctrl-C - removes the temporary file and
leaves an earlier good copy untouched.

Other environment variables:

* ``CONVLENS_MIRROR``: a base URL that replaces every dataset's canonical one (the file name is
  appended), for a local mirror or the tests' HTTP server.
* ``CONVLENS_OFFLINE=1``: never download; a missing file is an error that says where to put it.

Files found locally are not hashed: a copy may be legitimately recompressed (Debian's
Fashion-MNIST ``.gz`` files differ byte-wise from the published ones), so the readers check
structure and sizes instead (see :mod:`convlens.data.idx`).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from convlens.io import atomic_write

ENV_DATA = "CONVLENS_DATA"
ENV_MIRROR = "CONVLENS_MIRROR"
ENV_OFFLINE = "CONVLENS_OFFLINE"
DEFAULT_CACHE = Path("~/.cache/convlens")
TIMEOUT = 30.0  # seconds without a byte before giving up (per socket operation, not in total)
CHUNK = 1 << 16


@dataclass(frozen=True)
class RemoteFile:
    """A file of a dataset release and how to recognise it.

    Attributes:
        name: file name, appended to the base URL and used in the cache folder.
        sha256: hex SHA-256 of the exact bytes; checked on every download.
        size: size in bytes, when known (a quick check before hashing).
        md5: hex MD5 where the publisher gives one (checked too).
    """

    name: str
    sha256: str
    size: int | None = None
    md5: str | None = None


class DownloadError(FileNotFoundError):
    """A file could not be fetched (offline, HTTP error, transfer cut short, wrong checksum)."""


class ChecksumError(DownloadError):
    """The downloaded bytes are not the expected file."""


def cache_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The download cache: ``data_dir`` if given, else ``$CONVLENS_DATA``, else ``~/.cache/convlens``."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(ENV_DATA, "").strip()
    return Path(env).expanduser() if env else DEFAULT_CACHE.expanduser()


def base_url(canonical: str, mirror: str | None = None) -> str:
    """The base URL to download from: ``mirror`` if given, else ``$CONVLENS_MIRROR``, else ``canonical``."""
    chosen = mirror or os.environ.get(ENV_MIRROR, "").strip() or canonical
    return chosen if chosen.endswith("/") else chosen + "/"


def offline() -> bool:
    """True when ``CONVLENS_OFFLINE`` is set to something other than ``""``/``0``/``false``/``no``."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() not in ("", "0", "false", "no")


def _version() -> str:
    try:
        from importlib import metadata

        return metadata.version("convlens")
    except Exception:  # noqa: BLE001 - only a User-Agent string
        return "0"


def download_file(
    url: str,
    dest: str | os.PathLike[str],
    expected: RemoteFile,
    *,
    timeout: float = TIMEOUT,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest``, verified, placed atomically; returns ``dest``.

    Args:
        url: full URL of the file.
        dest: where the verified file ends up; its folder is created.
        expected: checksums (and size) the bytes must match.
        timeout: seconds any single network operation may wait.
        progress: show a tqdm progress bar (only on a terminal).

    Raises:
        DownloadError: no connection, HTTP error, or fewer bytes than announced.
        ChecksumError: the bytes arrived but are not the expected file.
        In every case no file is left at ``dest`` that was not there before.
    """
    from tqdm.auto import tqdm  # imported on first download only

    dest = Path(dest)
    request = urllib.request.Request(url, headers={"User-Agent": f"convlens/{_version()}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, atomic_write(dest, "wb") as out:
            announced = response.headers.get("Content-Length")
            total = int(announced) if announced and announced.isdigit() else expected.size
            sha256 = hashlib.sha256()
            md5 = hashlib.md5(usedforsecurity=False) if expected.md5 else None
            received = 0
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=expected.name,
                disable=None if progress else True,  # None: only on a terminal
                leave=False,
            ) as bar:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    sha256.update(chunk)
                    if md5 is not None:
                        md5.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            if announced is not None and announced.isdigit() and received != int(announced):
                raise DownloadError(
                    f"{url}: transfer cut short: received {received} of {announced} bytes; "
                    "the partial file was discarded, run again to retry"
                )
            _verify(url, expected, received, sha256.hexdigest(), md5.hexdigest() if md5 else None)
    except DownloadError:
        raise
    except urllib.error.HTTPError as err:
        raise DownloadError(f"{url}: the server answered HTTP {err.code} {err.reason}") from err
    except urllib.error.URLError as err:
        raise DownloadError(f"{url}: cannot connect ({err.reason})") from err
    except TimeoutError as err:  # socket.timeout is TimeoutError
        raise DownloadError(f"{url}: no data for {timeout:g} s (timed out)") from err
    except (http.client.HTTPException, ConnectionError) as err:
        raise DownloadError(f"{url}: connection broken ({type(err).__name__}: {err})") from err
    return dest


def _verify(url: str, expected: RemoteFile, size: int, sha256: str, md5: str | None) -> None:
    if expected.size is not None and size != expected.size:
        raise ChecksumError(
            f"{url}: expected {expected.size} bytes, received {size}; the file was discarded "
            "(is the mirror serving another version?)"
        )
    if sha256 != expected.sha256.lower():
        raise ChecksumError(
            f"{url}: SHA-256 mismatch: expected {expected.sha256}, received {sha256}; "
            "the file was discarded (a corrupted transfer or another file at that address)"
        )
    if expected.md5 is not None and md5 != expected.md5.lower():
        raise ChecksumError(
            f"{url}: MD5 mismatch: expected {expected.md5}, received {md5}; the file was discarded"
        )


def fetch_files(
    what: str,
    files: Sequence[RemoteFile],
    folder: Path,
    canonical_url: str,
    *,
    download: bool = True,
    mirror: str | None = None,
    searched: Sequence[str] = (),
    by_hand: str = "",
    timeout: float = TIMEOUT,
    progress: bool = True,
) -> dict[str, Path]:
    """Make sure every file of ``files`` is in ``folder``, downloading the missing ones.

    Files already in ``folder`` are kept as they are. Returns ``{file name: path}``.

    Raises:
        DownloadError: a file is missing and cannot be downloaded (or ``download`` is off).
            The message names the URL, the cache folder, the places searched (``searched``,
            one line each) and how to place the files by hand (``by_hand``).
    """
    result = {f.name: folder / f.name for f in files}
    missing = [f for f in files if not result[f.name].is_file()]
    if not missing:
        return result
    url = base_url(canonical_url, mirror)
    head = f"{what} not found." + (" Searched:\n" + "\n".join(searched) if searched else "")
    names = ", ".join(f.name for f in files)
    place = (
        f"To install by hand, put {names} into {folder} (or into a folder you pass with "
        f"--data-dir / data_dir=)." + (f" {by_hand}" if by_hand else "")
    )
    if not download or offline():
        why = (
            "downloads are off (download=False)"
            if not download
            else f"downloads are off ({ENV_OFFLINE} is set)"
        )
        raise DownloadError(
            f"{head}\n{why}; it would be downloaded from {url}{missing[0].name} into {folder}.\n{place}"
        )
    for remote in missing:
        try:
            download_file(url + remote.name, folder / remote.name, remote, timeout=timeout, progress=progress)
        except DownloadError as err:
            kind = type(err)
            raise kind(
                f"{head}\ndownload failed: {err}\ncache folder: {folder}\n{place} "
                f"Set {ENV_MIRROR} to download from a mirror instead."
            ) from err
    return result
