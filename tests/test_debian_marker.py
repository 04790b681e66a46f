"""Tests that need a Debian package skip with the exact apt-get line where it is missing, and fail
on CI, where .ci/run installs it (the ``debian`` marker of conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).with_name("conftest.py")
CI_RUN = Path(__file__).resolve().parents[1] / ".ci" / "run"


@pytest.fixture
def suite(pytester):
    pytester.makeconftest(CONFTEST.read_text() + '\nDEBIAN_FILES["gone"] = (("pkg-a", "pkg-b"), '
                          '("/nonexistent/convlens-test-file",))\n')
    pytester.makepyfile(test_needs="""
        import pytest

        @pytest.mark.debian("gone")
        def test_gone():
            raise AssertionError("must not run without its files")

        @pytest.mark.debian("fashion-mnist", "word-lists")
        def test_present():
            pass
    """)
    return pytester


def test_a_missing_package_skips_with_its_install_line(suite, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    result = suite.runpytest("-rs", "-p", "no:xdist")
    result.assert_outcomes(passed=1, skipped=1)  # this machine has the real packages
    result.stdout.fnmatch_lines(["*needs /nonexistent/convlens-test-file (Debian's gone): apt-get install pkg-a pkg-b"])


def test_on_ci_a_missing_package_fails(suite, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result = suite.runpytest("-p", "no:xdist")
    result.assert_outcomes(passed=1, errors=1)  # fails in setup: the run is red
    result.stdout.fnmatch_lines(["*apt-get install pkg-a pkg-b (.ci/run installs it)*"])


def test_ci_installs_every_package_the_marker_knows():
    import conftest

    script = CI_RUN.read_text()
    for name, (packages, _files) in conftest.DEBIAN_FILES.items():
        for package in packages:
            assert re.search(rf"\b{re.escape(package)}\b", script), f".ci/run does not install {package} ({name})"
