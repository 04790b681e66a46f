"""Training and evaluation: one loop for the Python API and the command line.

>>> history = fit(model, cl.CrossEntropyLoss(), opt, DataLoader(x, y, 64, seed=0), epochs=3,
...               val_data=(x_val, y_val))                                   # doctest: +SKIP
>>> loss, acc = evaluate(model, cl.CrossEntropyLoss(), x_test, y_test)      # doctest: +SKIP
"""

from convlens.training.evaluate import EvalResult, count_correct, evaluate
from convlens.training.fit import Callback, TrainingDiverged, fit
from convlens.training.history import History
from convlens.training.labels import check_labels, num_outputs

__all__ = [
    "Callback",
    "EvalResult",
    "History",
    "TrainingDiverged",
    "check_labels",
    "count_correct",
    "evaluate",
    "fit",
    "num_outputs",
]
