"""Loss functions: ``loss = loss_fn(prediction, target)``; ``loss_fn.backward()`` -> dL/dprediction."""

from convlens.losses.base import ElementwiseLoss, Loss
from convlens.losses.binary import BCELoss, BCEWithLogitsLoss
from convlens.losses.cross_entropy import CrossEntropyLoss, NLLLoss
from convlens.losses.regression import HuberLoss, L1Loss, MSELoss, SmoothL1Loss

__all__ = ["Loss", "ElementwiseLoss", "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss",
           "BCELoss", "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss"]
