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


def _read_bytes(path: Path) -> bytes:
    if path.suffix == ".gz":
        try:
            with gzip.open(path, "rb") as handle:
                return handle.read()
        except (OSError, EOFError, zlib.error) as err:  # BadGzipFile is an OSError
            raise IDXError(f"{path}: cannot decompress gzip data ({err})") from err
    return path.read_bytes()


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (plain or ``.gz``) into an array in native byte order.

    Returns:
        an array whose shape is the sizes in the header, e.g. ``(60000, 28, 28)`` ``uint8``
        for an ``idx3-ubyte`` image file, ``(60000,)`` for an ``idx1-ubyte`` label file.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        IDXError: wrong magic number, unknown type code, or a data size that does not match
            the header.
    """
    path = Path(path)
    raw = _read_bytes(path)
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
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    dtype = IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize  # Python ints: a header may claim 2**96 bytes
    received = len(raw) - header_size
    if received != expected:
        what = "truncated" if received < expected else "has trailing bytes"
        raise IDXError(
            f"{path}: header says shape {tuple(shape)} of {dtype.newbyteorder('=').name}, "
            f"expected {expected} data bytes, received {received} (file {what})"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=False)


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
