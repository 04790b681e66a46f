"""Where one convolution layer's time goes: its matrix products against the copies around them.

    python -m benchmarks.conv_breakdown                      # the Conv3d workload's 2nd layer
    python -m benchmarks.conv_breakdown --shape 128,32,14,14 --out-channels 64

Times (medians, milliseconds, one BLAS thread unless ``--threads``) of the whole forward and
backward passes of ``convlens.functional.conv`` and, separately, of the pieces they are made
of: the forward product ``w_mat @ cols``, the two backward products (dw and dcols), and col2im
(each kernel tap's gradient row added back onto the input). Whatever the products do not
account for is the im2col copy, the output transposes and padding. BENCHMARKS.md quotes it.
The im2col path is timed even where ``conv_forward`` would take the shifted products of
``convlens.functional.conv_shifted`` (stride 1 and enough channels).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", default="16,16,8,8,8", help="input N,C,*spatial [16,16,8,8,8]")
    parser.add_argument("--out-channels", type=int, default=32)
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--padding", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    from convlens.functional import conv_shifted

    saved, conv_shifted.MIN_CHANNELS = conv_shifted.MIN_CHANNELS, 2**62  # time im2col's pieces
    try:
        breakdown(args)
    finally:
        conv_shifted.MIN_CHANNELS = saved


def breakdown(args: argparse.Namespace) -> None:
    import numpy as np

    from convlens.functional.conv import conv_backward, conv_forward, im2col
    from convlens.functional.windows import window_offsets

    shape = tuple(int(v) for v in args.shape.split(","))
    nd = len(shape) - 2
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((args.out_channels, shape[1], *(args.kernel,) * nd)).astype(np.float32)
    y, cache = conv_forward(x, w, padding=args.padding)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    xp = cache.padded_input()
    cols = im2col(xp, w.shape[2:], cache.stride, cache.dilation, 1, cache.batch_last)
    w_mat = w.reshape(1, args.out_channels, -1)
    dy_mat = np.ascontiguousarray(np.moveaxis(dy, 1, 0)).reshape(1, args.out_channels, -1)
    kernel, out = w.shape[2:], cache.out_spatial
    dcols = (w_mat.transpose(0, 2, 1) @ dy_mat).reshape(1, shape[1], *kernel, shape[0], *out)

    def col2im():
        dxp = np.zeros((1, shape[1], shape[0], *cache.padded_shape[2:]), np.float32)
        for _, tap, slices in window_offsets(kernel, cache.stride, cache.dilation, out):
            dxp[(Ellipsis, *slices)] += dcols[(slice(None), slice(None), *tap)]

    r = args.repeats
    rows = [
        ("forward pass", median_ms(lambda: conv_forward(x, w, padding=args.padding), r)),
        ("  of which the im2col copy", median_ms(lambda: im2col(
            xp, kernel, cache.stride, cache.dilation, 1, cache.batch_last), r)),
        ("  of which the product w @ cols", median_ms(lambda: w_mat @ cols, r)),
        ("backward pass", median_ms(lambda: conv_backward(dy, cache), r)),
        ("  of which padding the input again", median_ms(cache.padded_input, r)),
        ("  of which the im2col copy again (for dw)", median_ms(lambda: im2col(
            xp, kernel, cache.stride, cache.dilation, 1, cache.batch_last), r)),
        ("  of which the product dw = dy @ colsᵀ",
         median_ms(lambda: dy_mat @ cols.transpose(0, 2, 1), r)),
        ("  of which the product dcols = wᵀ @ dy", median_ms(lambda: w_mat.transpose(0, 2, 1) @ dy_mat, r)),
        ("  of which col2im", median_ms(col2im, r)),
    ]
    print(f"Conv{nd}d {shape[1]}→{args.out_channels}, kernel {args.kernel}, padding {args.padding}, "
          f"input {shape}, output {y.shape}; im2col matrix {cols.shape[1:]}; "
          f"{args.threads} BLAS thread(s)")
    for label, ms in rows:
        print(f"{label:42s} {ms:8.2f} ms")


if __name__ == "__main__":
    main()
