"""Read and write IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number, one big-endian ``uint32`` size per dimension, then the
values in C order. The magic number is ``0x00 0x00 <type code> <number of dimensions>``::

    train-images-idx3-ubyte: 0x00000803, then 60000, 28, 28, then 60000*28*28 uint8 pixels
    train-labels-idx1-ubyte: 0x00000801, then 60000, then 60000 uint8 labels

Files ending in ``.gz`` are decompressed on the fly. Every check names what was expected and
what the file holds, so a truncated download or a wrong file is recognised at once.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from convlens.io import atomic_write

# type code -> big-endian dtype, as defined by the format (http://yann.lecun.com/exdb/mnist/)
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}


class IDXError(ValueError):
    """The file is not a valid IDX file (wrong magic number, truncated, trailing bytes)."""


# deflate expands data at most about 1032-fold: a gzip file of n bytes unpacks to under 1032 n + 1 KiB
_DEFLATE_MAX_RATIO = 1032


class _Header(NamedTuple):
    size: int  # bytes: magic number and sizes
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def data_bytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize  # Python ints: a header may claim 2**96 bytes

    def describe(self) -> str:
        return f"shape {self.shape} of {self.dtype.newbyteorder('=').name}"


def _parse_header(path: Path, raw: bytes) -> _Header:
    """The header at the start of ``raw`` (which may hold more), checked."""
    if len(raw) < 4:
        raise IDXError(f"{path}: expected at least a 4-byte magic number, received a {len(raw)}-byte file")
    zero0, zero1, code, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero0 != 0 or zero1 != 0 or code not in IDX_DTYPES:
        raise IDXError(
            f"{path}: expected an IDX magic number 0x0000TTNN (TT a type code in "
            f"{sorted(f'0x{c:02X}' for c in IDX_DTYPES)}), received 0x{raw[:4].hex().upper()}; "
            "is this an IDX file? (a .gz file must keep its .gz suffix)"
        )
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise IDXError(
            f"{path}: expected a {header_size}-byte header for {ndim} dimensions, "
            f"received only {len(raw)} bytes"
        )
    return _Header(header_size, struct.unpack(f">{ndim}I", raw[4:header_size]), IDX_DTYPES[code])


def _read_gzip(path: Path) -> tuple[_Header, bytes]:
    """The header and at most one byte more data than it implies: a gzip bomb (a small file
    that unpacks to gigabytes) is never decompressed beyond the size the header states, and a
    header that states more than the file can hold is refused before any data is unpacked."""
    try:
        with gzip.open(path, "rb") as handle:
            head = handle.read(4)
            head += handle.read(4 * head[3]) if len(head) == 4 else b""
            header = _parse_header(path, head)
            most = _DEFLATE_MAX_RATIO * path.stat().st_size + 1024
            if header.data_bytes > most:
                raise IDXError(
                    f"{path}: header says {header.describe()}, {header.data_bytes:,} data bytes, but a "
                    f"{path.stat().st_size:,}-byte gzip file unpacks to at most about {most:,} bytes: "
                    "the file is truncated or not what it claims; it was not decompressed")
            return header, handle.read(header.data_bytes + 1)  # one more shows trailing data
    except (OSError, EOFError, zlib.error) as err:  # BadGzipFile is an OSError
        raise IDXError(f"{path}: cannot decompress gzip data ({err})") from err


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (plain or ``.gz``) into an array in native byte order.

    Returns:
        an array whose shape is the sizes in the header, e.g. ``(60000, 28, 28)`` ``uint8``
        for an ``idx3-ubyte`` image file, ``(60000,)`` for an ``idx1-ubyte`` label file.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        IDXError: wrong magic number, unknown type code, or a data size that does not match
            the header (a ``.gz`` file is decompressed no further than the header's size).
    """
    path = Path(path)
    data: bytes | memoryview
    if path.suffix == ".gz":
        header, data = _read_gzip(path)
        received = f"more than {header.data_bytes}" if len(data) > header.data_bytes else str(len(data))
    else:
        raw = path.read_bytes()
        header = _parse_header(path, raw)
        data = memoryview(raw)[header.size:]
        received = str(len(data))
    expected = header.data_bytes
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise IDXError(
            f"{path}: header says {header.describe()}, "
            f"expected {expected} data bytes, received {received} (file {what})"
        )
    values = np.frombuffer(data, dtype=header.dtype).reshape(header.shape)
    return values.astype(header.dtype.newbyteorder("="), copy=False)


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when ``path`` ends in ``.gz``), atomically.

    The dtype must be one the format knows: uint8, int8, int16, int32, float32 or float64.
    """
    array = np.ascontiguousarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        raise TypeError(
            f"expected a dtype IDX can store ({', '.join(sorted(d.name for d in _CODES))}), "
            f"received {array.dtype}"
        )
    if array.ndim > 255:
        raise ValueError(f"expected at most 255 dimensions, received {array.ndim}")
    code = _CODES[native]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(IDX_DTYPES[code], copy=False).tobytes()
    if str(path).endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    with atomic_write(path, "wb") as handle:
        handle.write(payload)
