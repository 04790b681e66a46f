"""Training and evaluation: one loop for the Python API and the command line.

>>> history = fit(model, cl.CrossEntropyLoss(), opt, DataLoader(x, y, 64, seed=0), epochs=3,
...               val_data=(x_val, y_val))                                   # doctest: +SKIP
>>> loss, acc = evaluate(model, cl.CrossEntropyLoss(), x_test, y_test)      # doctest: +SKIP

:class:`Trainer` is the loop behind :func:`fit` and ``convlens train``; it keeps the epoch
counter and history, writes checkpoints and resumes from them exactly. Callbacks
(:mod:`convlens.training.callbacks`) add early stopping, weight checkpoints, CSV/JSON logs
and per-layer profiling; :mod:`convlens.training.metrics` holds top-k accuracy, the
confusion matrix and per-class precision/recall; :mod:`convlens.training.tasks` the
classification, binary and regression tasks.
"""

from convlens.training.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    FunctionCallback,
    JSONLogger,
    LearningRateSchedule,
    ModelCheckpoint,
    ProfileLayers,
)
from convlens.training.checkpoint import CheckpointError, CheckpointSaveError
from convlens.training.evaluate import EvalResult, count_correct, evaluate, evaluate_metrics, predict
from convlens.training.fit import fit
from convlens.training.history import History
from convlens.training.labels import check_labels, num_outputs
from convlens.training.metrics import (
    classification_report,
    confusion_matrix,
    precision_recall_f1,
    top_k_accuracy,
)
from convlens.training.tasks import Binary, Classification, Regression, Task, get_task
from convlens.training.trainer import Trainer, TrainingDiverged, TrainingInterrupted

__all__ = [
    "Binary",
    "CSVLogger",
    "Callback",
    "CheckpointError",
    "CheckpointSaveError",
    "Classification",
    "EarlyStopping",
    "EvalResult",
    "FunctionCallback",
    "History",
    "JSONLogger",
    "LearningRateSchedule",
    "ModelCheckpoint",
    "ProfileLayers",
    "Regression",
    "Task",
    "Trainer",
    "TrainingDiverged",
    "TrainingInterrupted",
    "check_labels",
    "classification_report",
    "confusion_matrix",
    "count_correct",
    "evaluate",
    "evaluate_metrics",
    "fit",
    "get_task",
    "num_outputs",
    "precision_recall_f1",
    "predict",
    "top_k_accuracy",
]
