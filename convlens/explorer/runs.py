"""A run folder's training record: status, curves, test metrics, confusion matrix, filters.

Read from the files ``convlens train`` writes: ``metrics.json`` when the run has finished,
otherwise the history in ``checkpoint.npz`` (written after every epoch), so the page can
follow a run that is still training. The first layer's filters are those of the newest
weights (:meth:`ServedModel.refresh` loads them).
"""

from __future__ import annotations

from typing import Any

from convlens.explorer.models import ServedModel
from convlens.explorer.network import first_filters

TEST_KEYS = ("test_accuracy", "test_loss", "test_top_k_accuracy", "test_precision", "test_recall",
             "test_f1", "epochs", "train_time_seconds", "num_parameters", "error")


def _checkpoint_history(served: ServedModel) -> dict[str, Any] | None:
    from convlens.training.checkpoint import CheckpointError, read_checkpoint_tree

    path = served.run_dir / "checkpoint.npz" if served.run_dir else None
    if path is None or not path.is_file():
        return None
    try:
        state = read_checkpoint_tree(path)
    except CheckpointError:
        return None  # unreadable: the next poll tries again
    history = state.get("history")
    return history if isinstance(history, dict) else None


def run_record(served: ServedModel) -> dict[str, Any]:
    """Everything the training view shows; ``{"run": False}`` for a model without a run."""
    if served.run_dir is None:
        return {"run": False, "model": served.name}
    from convlens.viz.run_folder import RunFolderError, read_metrics

    updated = served.refresh()
    with served.borrow() as model:
        filters = first_filters(model)
    try:
        metrics = read_metrics(served.run_dir)
    except RunFolderError:
        metrics = {}
    status = metrics.get("status") or "training"
    history = metrics.get("history") if isinstance(metrics.get("history"), dict) else None
    if history is None or status == "training":
        history = _checkpoint_history(served) or history or {}
    epochs = max((len(v) for v in history.values() if isinstance(v, list)), default=0)
    return {"run": True, "model": served.name, "status": status, "epochs_done": epochs,
            "history": history, "test": {k: metrics[k] for k in TEST_KEYS if k in metrics},
            "confusion_matrix": metrics.get("test_confusion_matrix"),
            "classes": list(served.class_names), "weights_version": served._version,
            "weights_updated": updated, "filters": filters,
            "config": {k: served.config.get(k) for k in ("model", "dataset", "epochs", "lr",
                                                          "batch_size", "optimizer", "command")}}
