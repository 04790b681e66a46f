"""Seed 004's worked example ("5. CNN 수식으로 알아보기"), ready to explain.

    4×4 input → Conv 3×3 (W = [[1, 0, 1], [0, 1, 0], [1, 0, 1]], b = 1) → ReLU → MaxPool 2×2
    → Flatten → Dense 1 → 2 (W = [[0.5], [−0.5]], b = [0.1, 0.2])
    → softmax + cross-entropy with the label [1, 0]; SGD with learning rate 0.1.

In float64, so the small gradient g = 1/(1 + e^10.9) ≈ 1.8458e-05 is kept to full precision
(the slides round it to 0.00002; ``tests/seeds/test_worked_example.py`` lists where that
changes their numbers).
"""

from __future__ import annotations

import numpy as np

from convlens.layers.activation import ReLU
from convlens.layers.container import Sequential
from convlens.layers.conv import Conv2d
from convlens.layers.linear import Dense
from convlens.layers.pool import MaxPool2d
from convlens.layers.shape import Flatten
from convlens.optim.sgd import SGD

X = np.array([[1, 2, 0, 1], [3, 1, 1, 5], [0, 2, 2, 0], [1, 0, 3, 1]], dtype=np.float64)
W_CONV = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.float64)
B_CONV = 1.0
W_DENSE = np.array([[0.5], [-0.5]])     # PyTorch layout (out, in): the slides' [[0.5, −0.5]]ᵀ
B_DENSE = np.array([0.1, 0.2])
Y_TRUE = np.array([[1.0, 0.0]])          # one-hot: class 0
LEARNING_RATE = 0.1


def seed004_example() -> tuple[Sequential, np.ndarray, np.ndarray, SGD]:
    """(model, x, y, optimizer) of seed 004's hand-worked step, in float64."""
    conv = Conv2d(1, 1, kernel_size=3)
    dense = Dense(1, 2)
    model = Sequential(conv, ReLU(), MaxPool2d(2), Flatten(), dense)
    model.double()
    assert conv.bias is not None and dense.bias is not None
    conv.weight.data[...] = W_CONV
    conv.bias.data[...] = B_CONV
    dense.weight.data[...] = W_DENSE
    dense.bias.data[...] = B_DENSE
    optimizer = SGD(model.parameters(), lr=LEARNING_RATE)
    return model, X[None, None].copy(), Y_TRUE.copy(), optimizer
