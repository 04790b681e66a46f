"""convlens: convolutional neural networks on NumPy, with every number visible.

    import convlens as cl
    model = cl.models.get_model("lenet5")
    loss_fn = cl.CrossEntropyLoss()
    loss = loss_fn(model(x), y)
    model.backward(loss_fn.backward())
    opt = cl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9); opt.step(); opt.zero_grad()
"""

from convlens import _startup  # noqa: F401, I001  first: Ctrl-C during the command's start-up exits quietly
from convlens import functional, init, models, optim, training
from convlens.functional.engine import enable_grad, no_grad, use_loops
from convlens.gradcheck import GradcheckReport, gradcheck
from convlens.inference import Prediction, predict
from convlens.inspect.explain import Explanation, explain
from convlens.inspect.summary import Summary, summary
from convlens.io import load_weights, save_weights
from convlens.io.formats import load
from convlens.io.model_file import save_model_file as save
from convlens.io.model_info import ModelInfo
from convlens.io.onnx import export_onnx, from_onnx
from convlens.io.pytorch import from_torch, to_torch
from convlens.layers import *  # noqa: F403
from convlens.layers import __all__ as _layers_all
from convlens.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from convlens.parameter import Parameter
from convlens.random import get_rng, manual_seed
from convlens.training import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    JSONLogger,
    ModelCheckpoint,
    Trainer,
    TrainingDiverged,
    TrainingInterrupted,
    evaluate,
    fit,
)

__version__ = "0.1.0"


def __getattr__(name: str):
    """``cl.viz`` is imported on first use: it loads matplotlib, which plain training does
    not need."""
    if name == "viz":
        import importlib

        return importlib.import_module("convlens.viz")
    raise AttributeError(f"module 'convlens' has no attribute {name!r}")


__all__ = [
    *_layers_all,
    "Parameter", "Loss", "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "BCELoss", "MSELoss",
    "L1Loss", "HuberLoss", "SmoothL1Loss", "no_grad", "enable_grad", "use_loops", "functional",
    "init", "models", "optim", "training", "Trainer", "fit", "evaluate", "History", "Callback",
    "EarlyStopping", "ModelCheckpoint", "CSVLogger", "JSONLogger", "TrainingDiverged",
    "TrainingInterrupted", "manual_seed", "get_rng", "save_weights", "load_weights", "summary",
    "Summary", "explain", "Explanation", "gradcheck", "GradcheckReport", "__version__",
    "save", "load", "ModelInfo", "predict", "Prediction",
    "to_torch", "from_torch",
    "from_onnx", "export_onnx",
]
