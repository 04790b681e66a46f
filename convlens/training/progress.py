"""Progress output for training: a live tqdm bar on a terminal, one line per epoch elsewhere.

In a log file or a CI console a redrawn bar would leave hundreds of ``\\r`` fragments, so when
the output is not a terminal each epoch prints a single summary line instead.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from tqdm import tqdm


def format_metrics(loss: float, accuracy: float, prefix: str = "") -> str:
    return f"{prefix}loss {loss:.4f} {prefix}acc {accuracy:.2%}"


class EpochProgress:
    """Progress of one epoch: ``update`` after each batch, ``close`` with the epoch summary.

    Args:
        epoch: 1-based epoch number; ``epochs`` the total.
        num_batches: batches in the epoch (the bar's length).
        file: where to write, ``sys.stdout`` when ``None``.
        enabled: ``False`` prints nothing at all.
    """

    def __init__(
        self,
        epoch: int,
        epochs: int,
        num_batches: int | None,
        file: IO[str] | None = None,
        enabled: bool = True,
    ) -> None:
        self.file = sys.stdout if file is None else file
        self.enabled = enabled
        self.label = f"epoch {epoch:>{len(str(epochs))}}/{epochs}"
        self.bar: Any = None
        isatty = getattr(self.file, "isatty", None)
        if enabled and callable(isatty) and isatty():
            self.bar = tqdm(
                total=num_batches,
                desc=self.label,
                file=self.file,
                leave=True,
                dynamic_ncols=True,
                unit="batch",
            )

    def update(self, loss: float, accuracy: float) -> None:
        """After a batch: the running mean loss and accuracy of the epoch so far."""
        if self.bar is not None:
            self.bar.set_postfix_str(format_metrics(loss, accuracy), refresh=False)
            self.bar.update(1)

    def close(self, summary: str, seconds: float) -> None:
        """End the epoch: the bar keeps ``summary`` as its postfix, or a line is printed."""
        if self.bar is not None:
            self.bar.set_postfix_str(summary, refresh=False)
            self.bar.close()
        elif self.enabled:
            print(f"{self.label}  {summary}  ({seconds:.1f} s)", file=self.file, flush=True)

    def abort(self) -> None:
        """End the epoch early (an error): close the bar where it stands."""
        if self.bar is not None:
            self.bar.close()
