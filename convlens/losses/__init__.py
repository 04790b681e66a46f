"""Loss functions: ``loss = loss_fn(prediction, target)``; ``loss_fn.backward()`` -> dL/dprediction."""

from convlens.losses.base import Loss
from convlens.losses.cross_entropy import CrossEntropyLoss, NLLLoss
from convlens.losses.regression import L1Loss, MSELoss

__all__ = ["Loss", "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss"]
