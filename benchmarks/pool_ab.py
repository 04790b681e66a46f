"""The opt-in thread pool against the default (pool off), interleaved in one process.

    python -m benchmarks.pool_ab lenet5_train_b64 conv_bn_relu_train_b128 [--rounds 8 --seconds 0.4]

For each workload of the suite, one convlens step is timed under each configuration in turn,
``--seconds`` per block, ``--rounds`` times over, and the median ms per step is printed:

- ``pool off``: ``set_num_threads(1)``: no pool, OpenBLAS keeps its own threads (the
  default);
- ``pool, 2^k``: two pool threads that own the BLAS, with :data:`~convlens.functional.parallel.MIN_ELEMENTS`
  set to 2^k (the smallest work the pool splits).

Interleaving in one process lets a passing load touch every configuration alike, which
separate runs of the suite cannot do on a shared 2-core machine.

    python -m benchmarks.pool_ab --dispatch lenet5_train_b64

prints instead what one hand-off to the pool costs (µs per :func:`~convlens.functional.parallel.run`
of empty work on two threads) and how many hand-offs one step of each workload makes.
"""

from __future__ import annotations

import argparse
import statistics
import time

CONFIGS = (("pool off", 1, None), ("pool, 2^16", 2, 1 << 16), ("pool, 2^18", 2, 1 << 18),
           ("pool, 2^20", 2, 1 << 20))


def workload_step(name: str):
    """One convlens step (training or inference) of the suite's workload ``name``, as
    ``benchmarks.run`` times it."""
    import convlens as cl
    from benchmarks.run import convlens_step, make_data
    from benchmarks.workloads import WORKLOADS, build

    workload = next((w for w in WORKLOADS if w.name == name), None)
    if workload is None:
        raise SystemExit(f"unknown workload {name!r}; expected one of "
                         + ", ".join(w.name for w in WORKLOADS))
    x, y = make_data(workload)
    cl.manual_seed(0)
    return convlens_step(build(workload.spec, "convlens"), x, y, workload.train)


def measure(name: str, rounds: int, seconds: float) -> dict[str, float]:
    """Median ms per step of workload ``name`` under each of :data:`CONFIGS`."""
    import convlens.functional.parallel as parallel

    step = workload_step(name)
    default = parallel.MIN_ELEMENTS
    times: dict[str, list[float]] = {label: [] for label, _, _ in CONFIGS}
    try:
        for _ in range(rounds):
            for label, threads, minimum in CONFIGS:
                parallel.set_num_threads(threads)
                parallel.MIN_ELEMENTS = minimum or default
                step()
                started, steps = time.perf_counter(), 0
                while steps == 0 or time.perf_counter() - started < seconds:
                    step()
                    steps += 1
                times[label].append((time.perf_counter() - started) / steps * 1e3)
    finally:
        parallel.MIN_ELEMENTS = default
        parallel.set_num_threads(None)
    return {label: statistics.median(values) for label, values in times.items()}


def dispatch_cost(repeats: int = 5000) -> float:
    """µs per hand-off of empty work to a two-thread pool."""
    import convlens.functional.parallel as parallel

    def nothing(start: int, stop: int) -> None:
        pass

    parallel.set_num_threads(2)
    try:
        for _ in range(100):
            parallel.run(nothing, 2, parallel.MIN_ELEMENTS)
        started = time.perf_counter()
        for _ in range(repeats):
            parallel.run(nothing, 2, parallel.MIN_ELEMENTS)
        return (time.perf_counter() - started) / repeats * 1e6
    finally:
        parallel.set_num_threads(None)


def dispatches_per_step(name: str) -> int:
    """How many blocks of work one step of workload ``name`` hands to a two-thread pool."""
    import convlens.functional.parallel as parallel

    step = workload_step(name)
    real_run, count = parallel.run, [0]

    def counting(work, n, size):
        count[0] += not parallel.serial(size) and min(parallel.num_threads(), n) > 1
        return real_run(work, n, size)

    parallel.set_num_threads(2)
    parallel.run = counting
    try:
        step()
        count[0] = 0
        step()
    finally:
        parallel.run = real_run
        parallel.set_num_threads(None)
    return count[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", nargs="+", help="workload names of benchmarks/workloads.py")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=0.4)
    parser.add_argument("--dispatch", action="store_true",
                        help="the cost of one hand-off to the pool, and hand-offs per step")
    args = parser.parse_args(argv)
    if args.dispatch:
        print(f"one hand-off to the pool: {dispatch_cost():.1f} µs")
        for name in args.workloads:
            print(f"{name}: {dispatches_per_step(name)} hand-offs per step", flush=True)
        return
    print("| workload | " + " | ".join(label for label, _, _ in CONFIGS) + " |")
    print("|---|" + "---:|" * len(CONFIGS))
    for name in args.workloads:
        medians = measure(name, args.rounds, args.seconds)
        print(f"| {name} | " + " | ".join(f"{medians[label]:.2f}" for label, _, _ in CONFIGS) + " |",
              flush=True)


if __name__ == "__main__":
    main()
