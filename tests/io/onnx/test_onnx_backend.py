"""ONNX's own conformance suite through the convlens backend.

Every case of ``onnx.backend.test`` (the generated node cases, the ``pytorch-converted`` and
``pytorch-operator`` model sets and the ``real`` models written by Caffe2 at opset 9) whose
operators all have a convlens converter runs and must pass, except the patterns of
``convlens.io.onnx.conformance.EXCLUDED``, each a named feature convlens lacks. Cases with an
operator convlens does not convert are skipped by onnx's runner ("no matched include pattern").
docs/onnx_operators.md gives the counts (scripts/onnx_operator_table.py).
"""

from __future__ import annotations

import warnings

import onnx.backend.test
import pytest

from convlens.io.onnx.backend import ConvlensBackend
from convlens.io.onnx.conformance import EXCLUDED, cases_within_support

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # onnx's case generators overflow casts on purpose
    backend_test = onnx.backend.test.BackendTest(ConvlensBackend, __name__)
    WITHIN = {name for _, name, _ in cases_within_support()}

for name in WITHIN:
    backend_test.include(f"^{name}$")
for pattern in EXCLUDED:
    backend_test.exclude(pattern)
# The runner would list the ~3,700 cases outside the supported operators as skipped tests, which
# costs half a minute of CI for nothing: keep only the included ones.
for items in backend_test._test_items.values():
    for name in [n for n in items if n not in WITHIN]:
        del items[name]

globals().update(backend_test.test_cases)


def test_the_suite_covers_every_supported_operator():
    """Each converter registered has conformance cases that run (not only excluded ones), except
    the operators convlens supports in part, which say where they are tested instead."""
    from convlens.io.onnx.conformance import PARTIAL, exclusion
    from convlens.io.onnx.converters import supported_operators

    ran = set()
    for _, name, ops in cases_within_support():
        if exclusion(name) is None:
            ran |= ops
    missing = sorted(set(supported_operators()) - ran)
    assert missing == sorted(PARTIAL), f"supported operators without a conformance case that runs: {missing}"


@pytest.mark.parametrize("pattern", EXCLUDED)
def test_every_exclusion_matches_a_case(pattern):
    import re

    assert any(re.search(pattern, name) for name in WITHIN), f"{pattern!r} excludes nothing"
