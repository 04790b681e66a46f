"""convlens against PyTorch (CPU) on the same machine, in the same run.

    python -m benchmarks.run                       # full suite: table on stdout, JSON file
    python -m benchmarks.run --quick               # fewer repeats, no memory probes
    python -m benchmarks.run --markdown BENCHMARKS.md

For each workload: median time of convlens and of PyTorch (same dtype float32, same batch,
same thread count, warm-up first), their ratio, the plain-loop implementation's time
(``convlens.functional.use_loops()``, measured at a small batch and scaled linearly to the
workload's batch: loop cost is exactly linear in the batch), achieved GFLOP/s (convolution
and linear layers; a training step counts 3× the forward FLOPs), and peak memory (the rise
of the resident set during three steps, measured in a fresh process per library). Timings
are recorded, never asserted. ResNet-50 inference at 224×224 (batch 1 and 16), imported
from ONNX, is timed against PyTorch and onnxruntime in the same run (``--no-onnx`` skips it;
it is skipped with a message when torch, onnx, onnxruntime or torchvision is missing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path


def set_threads(threads: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)


def median_time(fn, min_repeats: int, min_seconds: float, warmup: int = 3,
                max_repeats: int = 200) -> float:
    for _ in range(warmup):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_repeats or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= max_repeats:
            break
    return statistics.median(times)


def convlens_step(model, x, y, train: bool):
    import convlens as cl

    if not train:
        model.eval()

        def infer():
            with cl.no_grad():  # as torch.inference_mode on the PyTorch side
                model(x)

        return infer
    model.train()
    loss_fn = cl.CrossEntropyLoss()
    opt = cl.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        loss_fn(model(x), y)
        model.backward(loss_fn.backward(), need_input_grad=False)
        opt.step()
        opt.zero_grad()

    return step


def torch_step(model, x, y, train: bool):
    import torch

    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    if not train:
        model.eval()

        def infer():
            with torch.inference_mode():
                model(tx)

        return infer
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        torch.nn.functional.cross_entropy(model(tx), ty).backward()
        opt.step()
        opt.zero_grad()

    return step


def make_data(workload, batch=None):
    import numpy as np

    rng = np.random.default_rng(0)
    shape = (batch or workload.batch, *workload.input_shape[1:])
    x = rng.random(shape, dtype=np.float32)
    y = rng.integers(0, workload.num_classes, shape[0])
    return x, y


def gemm_peak(threads: int, have_torch: bool) -> dict:
    """GFLOP/s of a 1024³ float32 matrix product: the machine's practical ceiling."""
    import numpy as np

    n = 1024
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    result = {"numpy": 2 * n**3 / median_time(lambda: a @ a, 10, 1.0) / 1e9}
    if have_torch:
        import torch

        t = torch.from_numpy(a)
        result["torch"] = 2 * n**3 / median_time(lambda: t @ t, 10, 1.0) / 1e9
    return result


def memory_probe(lib: str, name: str) -> None:
    """Run in a fresh process: print the peak rise of resident memory over three steps."""
    from benchmarks.workloads import WORKLOADS, build

    workload = next(w for w in WORKLOADS if w.name == name)
    x, y = make_data(workload)
    model = build(workload.spec, lib)
    if lib == "torch":
        import torch

        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        step = torch_step(model, x, y, workload.train)
    else:
        step = convlens_step(model, x, y, workload.train)

    def rss(field: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) * 1024
        raise RuntimeError(field)

    baseline = rss("VmRSS:")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    for _ in range(3):
        step()
    print(json.dumps({"peak_bytes": rss("VmHWM:") - baseline}))


def measure_memory(lib: str, name: str, threads: int) -> float | None:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--memory-probe", lib, name],
        capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parent.parent)
    if proc.returncode:
        print(proc.stderr, file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])["peak_bytes"] / 2**20


def run_workloads(args, have_torch: bool) -> list[dict]:
    import numpy as np

    import convlens as cl
    from benchmarks.workloads import WORKLOADS, build, copy_weights, forward_flops

    rows = []
    for workload in WORKLOADS:
        if args.only and not any(o in workload.name for o in args.only):
            continue
        x, y = make_data(workload)
        cl.manual_seed(0)
        model = build(workload.spec, "convlens")
        row: dict = {"workload": workload.name, "what": workload.note, "batch": workload.batch}
        flops = forward_flops(workload.spec, workload.input_shape) * (3 if workload.train else 1)
        # (min repeats, min seconds, warm-up, max repeats): a long step is timed fewer times
        timing = ((args.repeats, args.seconds, 3, 200) if workload.max_repeats is None else
                  (min(args.repeats, workload.max_repeats), 0.0, 1, workload.max_repeats))
        if have_torch:
            import torch

            t_model = build(workload.spec, "torch")
            copy_weights(model, t_model)
            model.eval()
            t_model.eval()
            with torch.inference_mode():
                expected = t_model(torch.from_numpy(x)).numpy()
            row["max_abs_diff_vs_torch"] = float(np.abs(model(x) - expected).max())
            row["torch_ms"] = 1e3 * median_time(torch_step(t_model, x, y, workload.train),
                                                *timing)
        row["convlens_ms"] = 1e3 * median_time(convlens_step(model, x, y, workload.train), *timing)
        if have_torch:
            row["ratio"] = row["convlens_ms"] / row["torch_ms"]
        row["gflops"] = flops / (row["convlens_ms"] / 1e3) / 1e9
        if not args.no_loops and workload.loops:
            xs, ys = make_data(workload, workload.loop_batch)
            step = convlens_step(build(workload.spec, "convlens"), xs, ys, workload.train)
            with cl.functional.use_loops():
                t0 = time.perf_counter()
                step()
                loop_s = time.perf_counter() - t0
            row["loops_ms"] = 1e3 * loop_s * workload.batch / workload.loop_batch
            row["loops_measured_at_batch"] = workload.loop_batch
            row["speedup_vs_loops"] = row["loops_ms"] / row["convlens_ms"]
        if not args.no_memory:
            row["convlens_peak_mib"] = measure_memory("convlens", workload.name, args.threads)
            if have_torch:
                row["torch_peak_mib"] = measure_memory("torch", workload.name, args.threads)
                if row["convlens_peak_mib"] and row["torch_peak_mib"]:
                    row["memory_ratio"] = row["convlens_peak_mib"] / row["torch_peak_mib"]
        rows.append(row)
        print(format_row(row), flush=True)
    return rows


#: ResNet-50 inference imported from ONNX (224×224): (batch, the suite's name for it)
ONNX_WORKLOADS = [(1, "resnet50_onnx_infer_b1"), (16, "resnet50_onnx_infer_b16")]
#: Timed runs of each library per batch (one warm-up first): a batch-16 pass takes seconds.
ONNX_REPEATS = 3
ONNX_IMAGE_SIZE = 224


def run_onnx_workloads(args) -> list[dict]:
    """ResNet-50 exported by PyTorch to ONNX, read by convlens and by onnxruntime, the three
    timed in this process (:mod:`benchmarks.onnx_resnet50`); skipped with a message when
    torch, onnx, onnxruntime or torchvision is missing. No plain loops, no memory probe."""
    from benchmarks import onnx_resnet50

    wanted = [(b, name) for b, name in ONNX_WORKLOADS
              if not args.only or any(o in name for o in args.only)]
    if not wanted or args.no_onnx:
        return []
    reason = onnx_resnet50.missing_dependencies()
    if reason:
        print(reason, flush=True)
        return []
    repeats = 1 if args.quick else ONNX_REPEATS
    results, import_ms = onnx_resnet50.compare([b for b, _ in wanted], ONNX_IMAGE_SIZE, repeats,
                                                args.threads)
    rows = []
    for (batch, name), r in zip(wanted, results):
        row = {"workload": name, "what": "ResNet-50 inference, 3×224×224, imported from ONNX",
               "batch": batch, "convlens_ms": r["convlens_ms"], "torch_ms": r["pytorch_ms"],
               "ratio": r["convlens_ms"] / r["pytorch_ms"], "onnxruntime_ms": r["onnxruntime_ms"],
               "ratio_vs_onnxruntime": r["convlens_ms"] / r["onnxruntime_ms"],
               "relative_error_vs_onnxruntime": r["relative_error"], "onnx_import_ms": import_ms,
               "repeats": repeats}
        rows.append(row)
        print(format_row(row), flush=True)
    return rows


def time_layer(title: str, spec, shape, args, have_torch: bool) -> dict:
    """Forward and backward time of one layer in both libraries."""
    import numpy as np

    from benchmarks.workloads import build, copy_weights

    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    model = build([spec], "convlens")
    layer = model[0]  # the layer itself keeps its cache for repeated backward passes (a
    dy = np.ones_like(layer(x))  # container's backward uses it up, as PyTorch's does)
    row = {"layer": title, "input": list(shape)}
    row["convlens_fwd_ms"] = 1e3 * median_time(lambda: layer(x), args.repeats, args.seconds / 2)
    layer(x)
    row["convlens_bwd_ms"] = 1e3 * median_time(lambda: layer.backward(dy), args.repeats,
                                               args.seconds / 2)
    if have_torch:
        import torch

        t_layer = build([spec], "torch")
        copy_weights(model, t_layer)
        with torch.inference_mode():
            t_x = torch.from_numpy(x)
            row["torch_fwd_ms"] = 1e3 * median_time(lambda: t_layer(t_x), args.repeats,
                                                    args.seconds / 2)
        tx = torch.from_numpy(x).requires_grad_(True)
        ty = t_layer(tx)
        inputs = [tx, *t_layer.parameters()]
        tdy = torch.from_numpy(dy)
        row["torch_bwd_ms"] = 1e3 * median_time(
            lambda: torch.autograd.grad(ty, inputs, tdy, retain_graph=True),
            args.repeats, args.seconds / 2)
        row["fwd_ratio"] = row["convlens_fwd_ms"] / row["torch_fwd_ms"]
        row["bwd_ratio"] = row["convlens_bwd_ms"] / row["torch_bwd_ms"]
    return row


def run_layers(args, have_torch: bool) -> list[dict]:
    from benchmarks.workloads import LAYERS

    rows = []
    for title, spec, shape in LAYERS:
        if args.only and not any(o in title for o in args.only):
            continue
        rows.append(time_layer(title, spec, shape, args, have_torch))
        print(format_layer(rows[-1]), flush=True)
    return rows


def fmt(value, spec=".2f", missing="n/a") -> str:
    return missing if value is None else format(value, spec)


def format_row(r: dict) -> str:
    return (f"| {r['workload']} | {fmt(r.get('convlens_ms'))} | {fmt(r.get('torch_ms'))} | "
            f"**{fmt(r.get('ratio'))}** | {fmt(r.get('loops_ms'), '.0f')} | "
            f"{fmt(r.get('speedup_vs_loops'), '.0f')}× | {fmt(r.get('gflops'), '.1f')} | "
            f"{fmt(r.get('convlens_peak_mib'), '.1f')} | {fmt(r.get('torch_peak_mib'), '.1f')} | "
            f"{fmt(r.get('memory_ratio'))} | {fmt(r.get('max_abs_diff_vs_torch'), '.1e')} |")


WORKLOAD_HEADER = (
    "| workload | convlens ms | PyTorch ms | ratio | plain loops ms | speed-up vs loops | "
    "GFLOP/s | convlens peak MiB | PyTorch peak MiB | memory ratio | max abs diff |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

LAYER_HEADER = (
    "| layer | convlens fwd ms | PyTorch fwd ms | fwd ratio | convlens bwd ms | "
    "PyTorch bwd ms | bwd ratio |\n|---|---:|---:|---:|---:|---:|---:|")


def format_layer(r: dict) -> str:
    return (f"| {r['layer']} | {fmt(r['convlens_fwd_ms'], '.3f')} | {fmt(r.get('torch_fwd_ms'), '.3f')} | "
            f"{fmt(r.get('fwd_ratio'))} | {fmt(r['convlens_bwd_ms'], '.3f')} | "
            f"{fmt(r.get('torch_bwd_ms'), '.3f')} | {fmt(r.get('bwd_ratio'))} |")


def environment(threads: int, have_torch: bool) -> dict:
    import numpy as np

    import convlens

    env = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or ''}".strip(", "),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "convlens": convlens.__version__,
        "threads": threads,
        "command": "python -m benchmarks.run " + " ".join(sys.argv[1:]),
    }
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
        env["cpu"] = cpu
    except (OSError, StopIteration):
        pass
    env["blas"] = blas_description()
    if have_torch:
        import torch

        env["torch"] = torch.__version__
        env["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return env


def blas_description() -> str:
    """NumPy's BLAS and the kernels it chose, e.g. 'OpenBLAS 0.3.31, Haswell kernels'.

    OpenBLAS picks its kernels by CPU, unless ``OPENBLAS_CORETYPE`` forces a choice: a
    machine that forces AVX2 ('Haswell') kernels on an AVX-512 CPU halves GEMM throughput,
    so the variable is part of the record.
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (install threadpoolctl to record it)"
    import numpy  # noqa: F401  (loads the BLAS)

    parts = [f"{'OpenBLAS' if i['internal_api'] == 'openblas' else i['internal_api']} {i['version']}, "
             f"{i.get('architecture') or 'unknown'} kernels"
             for i in threadpool_info() if i["user_api"] == "blas"]
    forced = os.environ.get("OPENBLAS_CORETYPE")
    if forced:
        parts.append(f"OPENBLAS_CORETYPE={forced} set in the environment")
    return "; ".join(parts) or "none found"


def markdown(env: dict, peak: dict, rows: list[dict], layers: list[dict]) -> str:
    lines = [
        "# Benchmarks", "",
        f"Made by `{env['command']}` on {env['date']}.", "",
        f"Machine: {env.get('cpu', env['machine'])}, {env['machine']}; {env['threads']} threads for "
        f"both libraries. Python {env['python']}, NumPy {env['numpy']}, PyTorch "
        f"{env.get('torch', 'not installed')} (CPU"
        + (f", {env['torch_cpu_capability']} kernels" if "torch_cpu_capability" in env else "")
        + f"), convlens {env['convlens']}. NumPy's BLAS: {env.get('blas', 'unknown')}.", "",
        f"GEMM ceiling (1024³ float32): NumPy {peak['numpy']:.1f} GFLOP/s"
        + (f", PyTorch {peak['torch']:.1f} GFLOP/s." if "torch" in peak else "."), "",
        "Times are medians after warm-up; ratio = convlens / PyTorch (lower is better for "
        "convlens). Plain loops: `convlens.functional.use_loops()`, timed at a small batch and "
        "scaled linearly. Peak memory: rise of the resident set over three steps in a fresh "
        "process. Max abs diff: largest difference of the two libraries' outputs with the same "
        "weights.", "",
        WORKLOAD_HEADER, *(format_row(r) for r in rows), "",
    ]
    onnx_rows = [r for r in rows if "onnxruntime_ms" in r]
    if onnx_rows:
        lines += [
            "ResNet-50 from ONNX (`benchmarks/onnx_resnet50.py`: torchvision's ResNet-50, random "
            "weights, exported by PyTorch at opset 17 and read by `cl.from_onnx` and onnxruntime; "
            f"median of {onnx_rows[0]['repeats']} runs after a warm-up; no memory probe):", "",
            "| workload | convlens ms | onnxruntime ms | convlens / onnxruntime | "
            "relative error vs onnxruntime |", "|---|---:|---:|---:|---:|",
            *(f"| {r['workload']} | {r['convlens_ms']:.1f} | {r['onnxruntime_ms']:.1f} | "
              f"{r['ratio_vs_onnxruntime']:.2f} | {r['relative_error_vs_onnxruntime']:.1e} |"
              for r in onnx_rows), ""]
    if layers:
        lines += ["## Per layer (forward and backward at a typical size)", "",
                  LAYER_HEADER, *(format_layer(r) for r in layers), ""]
    return "\n".join(lines)


def geometric_mean(values: list[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def summary(runs: list[list[dict]]) -> str:
    """One row per workload: its time ratio and memory ratio at every thread count, and the
    geometric mean of the time ratios (the suite's one-number summary).

    ``runs[k][i]`` is run k's report at the i-th thread count. With several runs each ratio is
    the median over the runs (each run's ratio comes from the same run's two timings), and the
    single runs follow in brackets.
    """
    counts = [r["environment"]["threads"] for r in runs[0]]
    by_count = [[{row["workload"]: row for row in run[i]["workloads"]} for run in runs]
                for i in range(len(counts))]
    names = list(dict.fromkeys(name for per_run in by_count for rows in per_run for name in rows))

    def cell(per_run: list[dict], name: str, key: str) -> tuple[str, float | None]:
        values = [rows[name][key] for rows in per_run if rows.get(name, {}).get(key) is not None]
        middle = statistics.median(values) if values else None
        text = fmt(middle)
        if len(runs) > 1 and values:
            text += " (" + ", ".join(fmt(v) for v in values) + ")"
        return text, middle

    title = "convlens time / PyTorch time" + (f", median of {len(runs)} runs" if len(runs) > 1 else "")
    head = ("| workload | " + " | ".join(f"ratio, {n} thread{'s' if n > 1 else ''}" for n in counts)
            + " | " + " | ".join(f"memory ratio, {n}" for n in counts) + " |")
    lines = [f"## Summary: {title}", "", head, "|---|" + "---:|" * (2 * len(counts))]
    medians: list[list[float]] = [[] for _ in counts]
    for name in names:
        ratios, memories = [], []
        for i, per_run in enumerate(by_count):
            text, middle = cell(per_run, name, "ratio")
            ratios.append(text)
            if middle is not None:
                medians[i].append(middle)
            memories.append(cell(per_run, name, "memory_ratio")[0])
        lines.append(f"| {name} | " + " | ".join(ratios) + " | " + " | ".join(memories) + " |")
    every = geometric_mean([m for column in medians for m in column])
    lines.append("| geometric mean | " + " | ".join(fmt(geometric_mean(column)) for column in medians)
                 + " | " + " | ".join("" for _ in counts) + " |")
    lines += ["", f"Geometric mean of all {sum(len(column) for column in medians)} ratios: "
              f"{fmt(every)}.", ""]
    return "\n".join(lines)


def run_per_thread_count(args, argv: list[str]) -> None:
    """One fresh process per thread count (BLAS reads its thread count when NumPy loads),
    ``--runs`` times over (run 1 at every thread count, then run 2, …, so a passing load
    touches every count alike); the JSON and Markdown reports are combined, the Markdown with
    the median ratios and the last run's full tables."""
    import tempfile

    from convlens.io import atomic_write, write_json

    rest, skip = [], False
    for a in argv:  # the same options, minus the thread counts, runs and output paths
        if skip and not a.startswith("--"):
            continue
        skip = a in ("--threads", "--json", "--markdown", "--runs")
        if not skip:
            rest.append(a)
    runs, sections = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.runs):
            reports, sections = [], []
            for n in args.threads:
                json_path, md_path = Path(tmp) / f"{k}-{n}.json", Path(tmp) / f"{k}-{n}.md"
                print(f"\n=== run {k + 1} of {args.runs}, {n} thread{'s' if n > 1 else ''} ===", flush=True)
                subprocess.run([sys.executable, "-m", "benchmarks.run", "--threads", str(n),
                                "--json", str(json_path), "--markdown", str(md_path), *rest],
                               check=True, cwd=Path(__file__).resolve().parent.parent)
                reports.append(json.loads(json_path.read_text()))
                body = md_path.read_text().split("\n", 2)[2]  # drop the "# Benchmarks" title
                sections.append(f"## {n} thread{'s' if n > 1 else ''} for both libraries"
                                + (f" (run {k + 1} of {args.runs})" if args.runs > 1 else "") + f"\n{body}")
            runs.append(reports)
    command = "python -m benchmarks.run " + " ".join(argv)
    write_json(args.json, {"command": command, "runs": [report for reports in runs for report in reports]})
    if args.markdown:
        with atomic_write(args.markdown, "w") as handle:
            handle.write(f"# Benchmarks\n\nMade by `{command}`.\n\n" + summary(runs) + "\n"
                         + "\n".join(s.replace("## Per layer", "### Per layer") for s in sections))
    print(f"\nwrote {args.json}" + (f" and {args.markdown}" if args.markdown else ""))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[os.cpu_count()],
                        help="thread counts; several run one fresh process each, reported together")
    parser.add_argument("--repeats", type=int, default=10, help="minimum timed repeats")
    parser.add_argument("--seconds", type=float, default=2.0, help="minimum timed seconds")
    parser.add_argument("--quick", action="store_true", help="3 repeats, 0.3 s, no memory")
    parser.add_argument("--only", nargs="*", help="substrings of workload / layer names")
    parser.add_argument("--no-loops", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--no-layers", action="store_true")
    parser.add_argument("--no-onnx", action="store_true", help="skip ResNet-50 from ONNX")
    parser.add_argument("--runs", type=int, default=1,
                        help="run the whole suite this many times and report median ratios")
    parser.add_argument("--json", default="benchmarks/results.json")
    parser.add_argument("--markdown", help="also write the report to this Markdown file")
    parser.add_argument("--memory-probe", nargs=2, metavar=("LIB", "WORKLOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs takes a count of at least 1, not {args.runs}")
    if len(args.threads) > 1 or args.runs > 1:
        run_per_thread_count(args, sys.argv[1:] if argv is None else argv)
        return
    args.threads = args.threads[0]
    set_threads(args.threads)
    if args.memory_probe:
        memory_probe(*args.memory_probe)
        return
    if args.quick:
        args.repeats, args.seconds, args.no_memory = 3, 0.3, True
    try:
        import torch

        torch.set_num_threads(args.threads)
        have_torch = True
    except ImportError:
        print("PyTorch is not installed: convlens times only (pip install torch for ratios)")
        have_torch = False
    env = environment(args.threads, have_torch)
    peak = gemm_peak(args.threads, have_torch)
    print(f"GEMM ceiling: {peak}\n\n{WORKLOAD_HEADER}", flush=True)
    rows = run_workloads(args, have_torch)
    rows += run_onnx_workloads(args)
    layers: list[dict] = []
    if not args.no_layers:
        print(f"\n{LAYER_HEADER}", flush=True)
        layers = run_layers(args, have_torch)
    from convlens.io import write_json

    write_json(args.json, {"environment": env, "gemm_gflops": peak, "workloads": rows, "layers": layers})
    if args.markdown:
        from convlens.io import atomic_write

        with atomic_write(args.markdown, "w") as handle:
            handle.write(markdown(env, peak, rows, layers))
    print(f"\nwrote {args.json}" + (f" and {args.markdown}" if args.markdown else ""))


if __name__ == "__main__":
    main()
