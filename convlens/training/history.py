"""`History`: what happened in each epoch of a training run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class History:
    """Per-epoch metrics, one list entry per finished epoch.

    Attributes:
        train_loss: mean training loss over the epoch's examples (weights change during the
            epoch, so this lags behind the end-of-epoch model a little).
        train_accuracy: share of training examples classified correctly during the epoch
            (classification and binary tasks; empty for regression).
        val_loss: loss of the end-of-epoch model on the held-out data (empty without any).
        val_accuracy: its accuracy on the held-out data.
        epoch_time: wall-clock seconds of each epoch, held-out evaluation included.
        lr: the learning rate used during each epoch (``None`` if the optimizer has none).
        val_name: what the held-out data is, for labels: ``"val"`` or ``"test"``.
        train_mae, train_rmse, val_mae, val_rmse: regression's mean absolute error and root
            mean squared error (empty for the other tasks).
        samples_per_second: training throughput of each epoch (evaluation excluded).
        task: ``"classification"``, ``"binary"`` or ``"regression"``.
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    lr: list[float | None] = field(default_factory=list)
    val_name: str = "val"
    train_mae: list[float] = field(default_factory=list)
    train_rmse: list[float] = field(default_factory=list)
    val_mae: list[float] = field(default_factory=list)
    val_rmse: list[float] = field(default_factory=list)
    samples_per_second: list[float] = field(default_factory=list)
    task: str = "classification"

    @property
    def epochs(self) -> int:
        """Number of finished epochs."""
        return len(self.train_loss)

    @property
    def has_val(self) -> bool:
        return len(self.val_loss) > 0

    def append(
        self,
        train_loss: float,
        train_accuracy: float,
        epoch_time: float,
        val_loss: float | None = None,
        val_accuracy: float | None = None,
        lr: float | None = None,
    ) -> None:
        """Record one finished epoch (give both val values or neither, in every epoch)."""
        if (val_loss is None) != (val_accuracy is None):
            raise ValueError("expected both val_loss and val_accuracy, or neither")
        val = None
        if val_loss is not None and val_accuracy is not None:
            val = {"loss": val_loss, "accuracy": val_accuracy}
        self.record({"loss": train_loss, "accuracy": train_accuracy}, val, epoch_time, lr)

    def record(
        self,
        train: dict[str, float],
        val: dict[str, float] | None,
        epoch_time: float,
        lr: float | None = None,
        samples_per_second: float | None = None,
    ) -> None:
        """Record one finished epoch from metric dicts such as ``{"loss": …, "accuracy": …}``.

        Each name ``m`` goes to ``train_m`` and ``val_m``; the held-out dict must be given in
        every epoch or in none.
        """
        if self.epochs and (val is not None) != self.has_val:
            raise ValueError("expected held-out metrics in every epoch or in none")
        names = {f.name for f in fields(self)}
        rows = [("train", train)] + ([("val", val)] if val is not None else [])
        unknown = [f"{part}_{m}" for part, row in rows for m in row if f"{part}_{m}" not in names]
        if unknown or "loss" not in train or (val is not None and "loss" not in val):
            raise ValueError(f"expected metrics with a 'loss' and known names, received unknown {unknown}")
        for part, row in rows:
            for metric, value in row.items():
                getattr(self, f"{part}_{metric}").append(float(value))
        self.epoch_time.append(float(epoch_time))
        self.lr.append(None if lr is None else float(lr))
        if samples_per_second is not None:
            self.samples_per_second.append(float(samples_per_second))

    def last(self) -> dict[str, float]:
        """The last epoch's metrics as ``{"train_loss": …, "val_loss": …, …}`` (the names
        callbacks monitor)."""
        out: dict[str, float] = {}
        for f in fields(self):
            values = getattr(self, f.name)
            if isinstance(values, list) and len(values) == self.epochs and self.epochs:
                if values[-1] is not None:
                    out[f.name] = values[-1]
        return out

    def table(self) -> tuple[list[str], list[list[str]]]:
        """The history as a table: a header and one row of formatted cells per epoch.

        Columns: the epoch, every metric recorded in each epoch (accuracies in %), the
        learning rate, the epoch's seconds and the throughput.
        """
        columns: list[tuple[str, list[Any]]] = []
        for f in fields(self):
            values = getattr(self, f.name)
            if not isinstance(values, list) or len(values) != self.epochs or all(v is None for v in values):
                continue
            title = f.name.replace("val_", f"{self.val_name} ").replace("train_", "train ")
            title = {"epoch_time": "time (s)", "samples_per_second": "samples/s"}.get(title, title)
            columns.append((title, values))
        header = ["epoch"] + [title for title, _ in columns]
        rows = [[str(i + 1)] + [_cell(title, values[i]) for title, values in columns]
                for i in range(self.epochs)]
        return header, rows

    def _repr_html_(self) -> str:
        """One row per epoch, as HTML: Jupyter shows this when a history is a cell's value."""
        from convlens.notebook import html_table

        header, rows = self.table()
        caption = f"History: {self.epochs} epoch{'s' if self.epochs != 1 else ''} ({self.task})"
        return html_table(header, rows, caption, numeric=range(len(header)))

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and strings, ready for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Rebuild a history written by :meth:`to_dict` (e.g. from ``metrics.json``)."""
        return cls(**data)


def _cell(title: str, value: float | None) -> str:
    """One table cell: accuracies in %, times with 2 decimals, the rest with 4 digits."""
    if value is None:
        return ""
    if title.endswith("accuracy"):
        return f"{value:.2%}"
    if title == "time (s)":
        return f"{value:.2f}"
    if title == "samples/s":
        return f"{value:,.0f}"
    return f"{value:.4g}"
