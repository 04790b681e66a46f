"""A bounded load test of the explorer: N concurrent clients, each sending M predictions.

    python -m benchmarks.explorer_load                       # 20 clients × 500 predictions, LeNet-5
    python -m benchmarks.explorer_load --clients 4 --requests 50 --model simple_cnn

Starts ``convlens serve MODEL`` on 127.0.0.1 (a free port), waits for it, then runs the clients
(asyncio + httpx, one connection each). Each request is what the page sends while the user
draws: a 280×280 PNG of the canvas as a data URL, ``center: true``. Every request must answer
200 with ten probabilities; anything else counts as an error. The run stops by itself after
``clients × requests`` requests (or at ``--timeout`` seconds), stops the server, and prints the
throughput and the latency percentiles as one Markdown table row for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import platform
import statistics
import time


def _drawing() -> str:
    """A stroke of a '7' on a black 280×280 canvas, as the page sends it."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (280, 280))
    pen = ImageDraw.Draw(image)
    pen.line([(90, 50), (200, 50), (120, 240)], fill=255, width=20)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def _client(url: str, body: dict, count: int, latencies: list[float], errors: list[str],
                  deadline: float) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=1)) as c:
        for _ in range(count):
            if time.monotonic() > deadline:
                errors.append("timeout: the run was stopped at --timeout")
                return
            started = time.perf_counter()
            try:
                response = await c.post("/predict", json=body)
                ok = response.status_code == 200 and len(response.json()["probabilities"]) == 10
                if not ok:
                    errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
            except Exception as err:  # noqa: BLE001 - every failure is counted, none stops the run
                errors.append(f"{type(err).__name__}: {err}")
                continue
            latencies.append(time.perf_counter() - started)


async def _load(url: str, clients: int, requests: int, timeout: float) -> dict:
    body = {"image": _drawing(), "center": True}
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + timeout
    started = time.perf_counter()
    await asyncio.gather(*(_client(url, body, requests, latencies, errors, deadline) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {"requests": len(latencies) + len(errors), "errors": errors, "seconds": elapsed,
            "throughput": len(latencies) / elapsed if elapsed else 0.0,
            "p50": _percentile(latencies, 50) * 1e3 if latencies else float("nan"),
            "p99": _percentile(latencies, 99) * 1e3 if latencies else float("nan"),
            "mean": statistics.fmean(latencies) * 1e3 if latencies else float("nan")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=500, help="predictions per client")
    parser.add_argument("--model", default="lenet5", help="zoo name or run folder to serve")
    parser.add_argument("--timeout", type=float, default=600, help="stop after this many seconds")
    args = parser.parse_args(argv)
    import httpx

    from convlens.explorer.process import serving

    with serving([args.model]) as base:
        name = httpx.get(f"{base}/api/models").json()["models"][0]["name"]
        result = asyncio.run(_load(f"{base}/api/models/{name}", args.clients, args.requests, args.timeout))
    errors = result["errors"]
    print(f"{args.clients} clients × {args.requests} predictions of {args.model} on 127.0.0.1 "
          f"({platform.processor() or platform.machine()}, {os.cpu_count()} cores)")
    print("| clients × requests | requests | errors | seconds | throughput (req/s) | p50 (ms) | p99 (ms) "
          "| mean (ms) |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {args.clients} × {args.requests} | {result['requests']:,} | {len(errors)} | "
          f"{result['seconds']:.1f} | {result['throughput']:.0f} | {result['p50']:.1f} | "
          f"{result['p99']:.1f} | {result['mean']:.1f} |")
    for message in sorted(set(errors))[:5]:
        print("error:", message)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
