"""IDX reader and writer: hand-built files, gzip, and every kind of corruption."""

import gzip
import struct

import numpy as np
import pytest

from convlens.data.idx import IDXError, read_idx, write_idx


def _idx_bytes(code: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


def test_reads_hand_built_ubyte_images(tmp_path):
    pixels = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(_idx_bytes(0x08, (2, 3, 4), pixels.tobytes()))
    out = read_idx(path)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, pixels)


def test_reads_big_endian_int32_and_float64_into_native_order(tmp_path):
    values = np.array([1, -2, 70000], dtype=np.int32)
    path = tmp_path / "ints"
    path.write_bytes(_idx_bytes(0x0C, (3,), values.astype(">i4").tobytes()))
    out = read_idx(path)
    assert out.dtype == np.dtype(np.int32) and out.dtype.isnative
    np.testing.assert_array_equal(out, values)

    floats = np.array([[0.5, -1.25]], dtype=np.float64)
    path = tmp_path / "floats"
    path.write_bytes(_idx_bytes(0x0E, (1, 2), floats.astype(">f8").tobytes()))
    np.testing.assert_array_equal(read_idx(path), floats)


def test_reads_gzip_compressed(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    path = tmp_path / "labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(_idx_bytes(0x08, (5,), labels.tobytes())))
    np.testing.assert_array_equal(read_idx(path), labels)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_write_then_read_round_trips(tmp_path, dtype, name):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    write_idx(tmp_path / name, array)
    out = read_idx(tmp_path / name)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, array)


def test_written_header_is_the_documented_one(tmp_path):
    write_idx(tmp_path / "x", np.zeros((60, 28, 28), dtype=np.uint8))
    assert (tmp_path / "x").read_bytes()[:16].hex() == "00000803" + "0000003c" + "0000001c" * 2


def test_wrong_magic_number(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x1f\x8b\x08\x00" + bytes(100))  # a gzip header under a plain name
    with pytest.raises(IDXError, match=r"expected an IDX magic number .* received 0x1F8B0800"):
        read_idx(path)


def test_unknown_type_code(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(_idx_bytes(0x0A, (1,), b"\x00"))
    with pytest.raises(IDXError, match="received 0x00000A01"):
        read_idx(path)


def test_too_short_for_magic(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x00\x00")
    with pytest.raises(IDXError, match="expected at least a 4-byte magic number, received a 2-byte"):
        read_idx(path)


def test_header_cut_short(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">I", 10))
    with pytest.raises(IDXError, match="expected a 16-byte header for 3 dimensions, received only 8"):
        read_idx(path)


def test_truncated_data(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(_idx_bytes(0x08, (2, 28, 28), bytes(28 * 28 + 5)))
    with pytest.raises(IDXError, match=r"expected 1568 data bytes, received 789 \(file truncated\)"):
        read_idx(path)


def test_trailing_bytes(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(_idx_bytes(0x0C, (2,), bytes(9)))
    with pytest.raises(IDXError, match=r"expected 8 data bytes, received 9 \(file has trailing"):
        read_idx(path)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(_idx_bytes(0x08, (1,), b"\x00"))  # not compressed at all
    with pytest.raises(IDXError, match="cannot decompress gzip data"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing-here")


def test_write_refuses_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="expected a dtype IDX can store .* received int64"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))


def test_an_absurd_header_gives_a_true_byte_count(tmp_path):
    # (2**32 - 1)**3 uint8 values: about 2**96 bytes, beyond int64 (a negative count before)
    path = tmp_path / "huge"
    path.write_bytes(bytes([0, 0, 0x08, 3]) + struct.pack(">3I", *(2**32 - 1,) * 3) + b"\x00" * 10)
    with pytest.raises(IDXError, match=rf"expected {(2**32 - 1) ** 3} data bytes, received 10 \(file "
                                       r"truncated\)"):
        read_idx(path)
    path.write_bytes(bytes([0, 0, 0x08, 1]) + struct.pack(">I", 2) + b"\x00" * 5)
    with pytest.raises(IDXError, match=r"expected 2 data bytes, received 5 \(file has trailing bytes\)"):
        read_idx(path)
    gz = tmp_path / "bad.gz"
    gz.write_bytes(gzip.compress(b"\x00" * 100)[:-12] + b"\xff" * 12)
    with pytest.raises(IDXError, match=r"bad.gz: cannot decompress gzip data"):
        read_idx(gz)


def _gzip_of_zeros(path, head: bytes, zeros: int) -> None:
    """A gzip file of ``head`` and ``zeros`` zero bytes, written without holding them in memory."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    chunk = bytes(1 << 20)
    with open(path, "wb") as out:
        out.write(packer.compress(head))
        for _ in range(zeros // len(chunk)):
            out.write(packer.compress(chunk))
        out.write(packer.flush())


def test_a_gzip_bomb_is_decompressed_no_further_than_its_header_says(tmp_path):
    import tracemalloc

    path = tmp_path / "bomb-idx1-ubyte.gz"
    _gzip_of_zeros(path, _idx_bytes(0x08, (1000,), b""), 64 << 20)  # 64 MiB of zeros in 64 KiB
    assert path.stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(IDXError, match=r"header says shape \(1000,\) of uint8, expected 1000 data bytes, "
                                           r"received more than 1000 \(file has trailing bytes\)"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20  # bytes: the 64 MiB were never unpacked


def test_a_gzip_whose_header_claims_more_than_it_can_hold_is_refused_unread(tmp_path):
    path = tmp_path / "claims-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(_idx_bytes(0x08, (60000, 280, 280), bytes(100)), mtime=0))
    size = path.stat().st_size
    with pytest.raises(IDXError, match=rf"header says shape \(60000, 280, 280\) of uint8, 4,704,000,000 data "
                                       rf"bytes, but a {size}-byte gzip file unpacks to at most about "
                                       rf"{1032 * size + 1024:,} bytes: the file is truncated"):
        read_idx(path)
