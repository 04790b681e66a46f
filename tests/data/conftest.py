"""Data tests never touch the network or the user's cache.

Every test gets its own empty cache (``CONVLENS_DATA``) and runs with downloads off
(``CONVLENS_OFFLINE=1``); the download tests turn them back on and point ``CONVLENS_MIRROR``
or ``mirror=`` at :func:`http_server`, a local server on 127.0.0.1 that serves fixture bytes
and can cut a transfer short, answer 404, or stall.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@pytest.fixture(autouse=True)
def hermetic_data_env(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVLENS_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("CONVLENS_OFFLINE", "1")
    monkeypatch.delenv("CONVLENS_MIRROR", raising=False)


@dataclass
class FileServer:
    """What the local server serves, and what it was asked for."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    truncate: set[str] = field(default_factory=set)  # announce the full length, send half, close
    stall: set[str] = field(default_factory=set)  # send headers, then nothing until the test ends
    requests: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    timeout = 10  # a stuck client connection ends by itself

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        state: FileServer = self.server.state  # type: ignore[attr-defined]
        name = self.path.lstrip("/")
        state.requests.append(name)
        body = state.files.get(name)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if name in state.stall:
            state.release.wait(10)
            return
        if name in state.truncate:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True  # the client sees the connection end early
            return
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep test output clean
        pass


@pytest.fixture
def http_server(monkeypatch):
    """A :class:`FileServer` on 127.0.0.1 (a free port), stopped at the end of the test.

    Downloads are switched back on for the test.
    """
    monkeypatch.delenv("CONVLENS_OFFLINE", raising=False)
    state = FileServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
