"""The network's nodes follow the arrays: a chain for Sequential, branches for Residual and Concat."""

from __future__ import annotations

import numpy as np

import convlens as cl
from convlens.explorer.network import INPUT, data_flow


def _flow(model, shape):
    return [(type(c["module"]).__name__, c["inputs"]) for c in data_flow(model, np.zeros((1, *shape), np.float32))]


def test_a_sequential_is_a_chain():
    model = cl.Sequential(cl.Conv2d(1, 2, 3), cl.ReLU(), cl.Flatten(), cl.Linear(2 * 6 * 6, 3))
    assert _flow(model, (1, 8, 8)) == [("Conv2d", [INPUT]), ("ReLU", [0]), ("Flatten", [1]), ("Linear", [2])]


def test_residual_with_and_without_a_shortcut():
    identity = cl.Residual(cl.Sequential(cl.Conv2d(2, 2, 3, padding=1), cl.ReLU()))
    projected = cl.Residual(cl.Conv2d(2, 4, 3, padding=1), cl.Conv2d(2, 4, 1))
    model = cl.Sequential(cl.Conv2d(1, 2, 3, padding=1), identity, projected, cl.ReLU())
    assert _flow(model, (1, 6, 6)) == [
        ("Conv2d", [INPUT]), ("Conv2d", [0]), ("ReLU", [1]), ("Residual", [2, 0]),
        ("Conv2d", [3]), ("Conv2d", [3]), ("Residual", [4, 5]), ("ReLU", [6])]


def test_concat_reads_every_branch():
    model = cl.Sequential(cl.Conv1d(1, 2, 3), cl.Concat(cl.Conv1d(2, 3, 1), cl.Sequential(cl.Conv1d(2, 3, 3, padding=1), cl.ReLU())))
    assert _flow(model, (1, 10)) == [("Conv1d", [INPUT]), ("Conv1d", [0]), ("Conv1d", [0]), ("ReLU", [2]),
                                     ("Concat", [1, 3])]
