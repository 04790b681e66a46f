"""ResNet-50 inference through ONNX: convlens against PyTorch and onnxruntime, in one run.

    python -m benchmarks.onnx_resnet50                      # batch 1 and 16 at 224×224
    python -m benchmarks.onnx_resnet50 --batches 1 --size 64 --repeats 2   # a quick look

torchvision's ResNet-50 (random weights, eval mode) is exported by PyTorch to ONNX (opset 17),
read by convlens (``cl.from_onnx``) and by onnxruntime, and the three run the same inputs.
Times are medians of ``--repeats`` runs after one warm-up, in milliseconds, with the thread
count of ``--threads`` for every library. The outputs are compared too (relative error of
convlens against onnxruntime), so a fast wrong answer cannot pass. BENCHMARKS.md quotes it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def missing_dependencies() -> str | None:
    """Why the comparison cannot run here (a message naming what to install), or None."""
    missing = []
    for module in ("torch", "onnx", "onnxruntime"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if not missing:
        try:
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
            import torchvision_models  # noqa: F401  (torchvision without its C++ operators)
        except ImportError:
            missing.append("torchvision")
    if not missing:
        return None
    return (f"ResNet-50 from ONNX skipped: {', '.join(missing)} not installed "
            f"(pip install \".[test]\" for the comparison with PyTorch and onnxruntime)")


def compare(batches: list[int], size: int = 224, repeats: int = 5,
            threads: int = 2) -> tuple[list[dict], float]:
    """(one row per batch, milliseconds to import the ONNX file). The BLAS thread count must
    be set in the environment before NumPy is imported (``main`` and ``benchmarks.run`` do)."""
    import warnings

    import numpy as np
    import onnxruntime as ort
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from torchvision_models import models  # torchvision without its C++ operators

    import convlens as cl
    from benchmarks.conv_breakdown import median_ms

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = models.resnet50().eval()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "resnet50.onnx"
        example = torch.zeros(1, 3, size, size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(net, (example,), str(path), opset_version=17, dynamo=False,
                              input_names=["image"], dynamic_axes={"image": {0: "N"}})
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = threads
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        start = time.perf_counter()
        model = cl.from_onnx(path)
        import_ms = (time.perf_counter() - start) * 1e3
        for batch in batches:
            shape = (batch, 3, size, size)
            x = np.random.default_rng(batch).standard_normal(shape).astype(np.float32)
            xt = torch.from_numpy(x)

            def run_convlens(x=x):
                with cl.no_grad():
                    return model(x)

            def run_torch(xt=xt):
                with torch.inference_mode():
                    return net(xt)

            def run_onnxruntime(x=x):
                return session.run(None, {"image": x})[0]

            reference = run_onnxruntime()
            error = float(np.abs(run_convlens() - reference).max() / np.abs(reference).max())
            row = {"batch": batch, "convlens_ms": median_ms(run_convlens, repeats),
                   "pytorch_ms": median_ms(run_torch, repeats),
                   "onnxruntime_ms": median_ms(run_onnxruntime, repeats), "relative_error": error}
            rows.append(row)
    return rows, import_ms


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", default="1,16", help="batch sizes [1,16]")
    parser.add_argument("--size", type=int, default=224, help="image size [224]")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before NumPy's BLAS starts its threads
    reason = missing_dependencies()
    if reason:
        print(reason)
        return []
    rows, import_ms = compare([int(b) for b in args.batches.split(",")], args.size, args.repeats,
                              args.threads)
    print(f"ResNet-50 at {args.size}×{args.size}, {args.threads} thread(s), median of {args.repeats} runs "
          f"(import of the ONNX file: {import_ms:.0f} ms)")
    print("| batch | convlens (ms) | PyTorch (ms) | onnxruntime (ms) | convlens / PyTorch | "
          "convlens / onnxruntime | relative error vs onnxruntime |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['batch']} | {r['convlens_ms']:.1f} | {r['pytorch_ms']:.1f} | "
              f"{r['onnxruntime_ms']:.1f} | {r['convlens_ms'] / r['pytorch_ms']:.2f} | "
              f"{r['convlens_ms'] / r['onnxruntime_ms']:.2f} | {r['relative_error']:.1e} |")
    return rows


if __name__ == "__main__":
    main()
