"""`convlens serve`: what it prints, where it listens, and its refusals (the server itself is
started for real by tests/explorer/test_explorer_browser.py)."""

from __future__ import annotations

import pytest
import uvicorn
from click.testing import CliRunner

from convlens.cli import main


def _run(monkeypatch, *args):
    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, log_level: started.update(app=app, host=host, port=port))
    result = CliRunner().invoke(main, ["serve", *args])
    return result, started


def test_serves_on_localhost_by_default(monkeypatch):
    result, started = _run(monkeypatch, "simple_cnn", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert started["host"] == "127.0.0.1" and started["port"] == 8123
    assert "convlens explorer: simple_cnn at http://127.0.0.1:8123/" in result.output
    assert "warning" not in result.output
    assert [r.path for r in started["app"].routes if "predict" in getattr(r, "path", "")] == ["/api/models/{name}/predict"]


def test_warns_when_exposed_and_picks_a_free_port(monkeypatch):
    result, started = _run(monkeypatch, "--host", "0.0.0.0", "--port", "0")
    assert result.exit_code == 0, result.output
    assert "warning: listening on 0.0.0.0, not 127.0.0.1: anyone who can reach this machine" in result.output
    assert started["port"] > 0 and f":{started['port']}/" in result.output
    assert "lenet5 at" in result.output            # no model named: LeNet-5 of the zoo


def test_an_unknown_model_is_a_clear_error(monkeypatch):
    result, started = _run(monkeypatch, "runs/does-not-exist")
    assert result.exit_code == 1 and started == {}
    assert "Error: 'runs/does-not-exist' is neither a file, a run folder (with config.json) nor a zoo model" in result.output
    assert "Traceback" not in result.output


def test_an_upload_limit_that_is_not_a_finite_number_is_refused(monkeypatch):
    result, started = _run(monkeypatch, "--max-upload-mb", "nan")
    assert result.exit_code == 2 and started == {}
    assert "Invalid value for '--max-upload-mb': expected a finite number, received 'nan'" in result.output
    result, started = _run(monkeypatch, "--max-upload-mb", "0")
    assert result.exit_code == 2 and started == {}
    assert "expected a number in [0.01, inf], received '0'" in result.output


@pytest.mark.parametrize("host", ["999.1.1.1", "no-such-host.invalid"])
def test_an_address_that_cannot_be_used_is_one_message(host):
    result = CliRunner().invoke(main, ["serve", "simple_cnn", "--host", host, "--port", "0"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"cannot listen on {host}:0:" in result.output and "--port 0 picks one" in result.output


def test_a_port_in_use_is_one_message():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "simple_cnn", "--port", str(port)])
    assert result.exit_code == 1 and f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.output
