"""`History`: what happened in each epoch of a training run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class History:
    """Per-epoch metrics, one list entry per finished epoch.

    Attributes:
        train_loss: mean training loss over the epoch's examples (weights change during the
            epoch, so this lags behind the end-of-epoch model a little).
        train_accuracy: share of training examples classified correctly during the epoch.
        val_loss: loss of the end-of-epoch model on the held-out data (empty without any).
        val_accuracy: its accuracy on the held-out data.
        epoch_time: wall-clock seconds of each epoch, held-out evaluation included.
        lr: the learning rate used during each epoch (``None`` if the optimizer has none).
        val_name: what the held-out data is, for labels: ``"val"`` or ``"test"``.
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    lr: list[float | None] = field(default_factory=list)
    val_name: str = "val"

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
        if self.epochs and (val_loss is not None) != self.has_val:
            raise ValueError("expected held-out metrics in every epoch or in none")
        self.train_loss.append(float(train_loss))
        self.train_accuracy.append(float(train_accuracy))
        self.epoch_time.append(float(epoch_time))
        self.lr.append(None if lr is None else float(lr))
        if val_loss is not None and val_accuracy is not None:
            self.val_loss.append(float(val_loss))
            self.val_accuracy.append(float(val_accuracy))

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and strings, ready for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Rebuild a history written by :meth:`to_dict` (e.g. from ``metrics.json``)."""
        return cls(**data)
