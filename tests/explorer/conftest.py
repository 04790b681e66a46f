"""Fixtures of the explorer tests: small served models, a run folder, an in-process client."""

from __future__ import annotations

from pathlib import Path

import pytest
from explorer_helpers import write_run


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runs") / "my-run"


@pytest.fixture(scope="session")
def served(run_dir: Path) -> dict:
    from convlens.explorer.models import open_models

    write_run(run_dir)
    return open_models(["simple_cnn", str(run_dir), "cnn1d", "cnn3d", "resnet_small"])


@pytest.fixture(scope="session")
def app(served: dict):
    from convlens.explorer.app import create_app

    return create_app(served, max_body_bytes=300_000)


@pytest.fixture()
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
