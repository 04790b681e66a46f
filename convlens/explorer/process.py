"""``convlens serve`` in a child process, for scripts and tests that talk to a real server.

    with serving(["lenet5"]) as url:          # http://127.0.0.1:<free port>
        httpx.get(url + "/api/models")

The server listens on 127.0.0.1 at a free port; the block starts once it answers, and the
process is stopped when the block ends (also on an error).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(models: list[str], timeout: float = 60.0) -> Iterator[str]:
    """Run ``convlens serve MODELS`` until the block ends; yields its base URL."""
    import httpx

    port = free_port()
    package_root = str(Path(__file__).resolve().parents[2])   # this convlens, even when not installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "convlens.cli", "serve", *models, "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{url}/api/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                output = process.stdout.read() if process.stdout else ""
                raise RuntimeError(f"convlens serve {' '.join(models)} did not start: {output}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
