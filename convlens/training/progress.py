"""Progress output for training: a live tqdm bar on a terminal or in a notebook, one line per
epoch elsewhere.

In a log file or a CI console a redrawn bar would leave hundreds of ``\\r`` fragments, so when
the output is not a terminal each epoch prints a single summary line instead. In a Jupyter
notebook the bar is tqdm's notebook widget (``tqdm.notebook``, which needs ``ipywidgets``:
``pip install "convlens[notebook]"``); without ipywidgets a notebook gets the one line per epoch.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Any

from tqdm import tqdm

from convlens.notebook import in_notebook


def format_metrics(loss: float, accuracy: float, prefix: str = "") -> str:
    return f"{prefix}loss {loss:.4f} {prefix}acc {accuracy:.2%}"


def format_rate(samples_per_second: float) -> str:
    """``"3,210 samples/s"``; below 10 with a decimal, for the slow loop engine."""
    if samples_per_second < 10:
        return f"{samples_per_second:.1f} samples/s"
    return f"{samples_per_second:,.0f} samples/s"


def _is_terminal(file: Any) -> bool:
    """A terminal wide enough for a bar (a pseudo-terminal may report 0 columns)."""
    isatty = getattr(file, "isatty", None)
    if not callable(isatty) or not isatty():
        return False
    try:
        return os.get_terminal_size(file.fileno()).columns > 0
    except (AttributeError, OSError, ValueError):  # no file descriptor: trust isatty()
        return True


def resolve_verbose(verbose: bool | None) -> bool:
    """``None`` means: show progress (a widget in a notebook, a bar on a terminal)."""
    return True if verbose is None else bool(verbose)


def notebook_bar_class() -> Any:
    """``tqdm.notebook.tqdm`` when this is a notebook with ipywidgets installed, else ``None``."""
    if not in_notebook():
        return None
    try:
        from tqdm import notebook
    except ImportError:  # pragma: no cover - IPython missing while a kernel runs
        return None
    return notebook.tqdm if getattr(notebook, "IProgress", None) is not None else None


class EpochProgress:
    """Progress of one epoch: ``update`` after each batch, ``close`` with the epoch summary.

    Args:
        epoch: 1-based epoch number; ``epochs`` the total.
        num_batches: batches in the epoch (the bar's length).
        file: where to write, ``sys.stdout`` when ``None`` (in a notebook, writing to
            ``sys.stdout`` shows the notebook widget).
        enabled: ``False`` prints nothing at all.
        initial: batches already done (an epoch resumed in the middle).
    """

    def __init__(
        self,
        epoch: int,
        epochs: int,
        num_batches: int | None,
        file: IO[str] | None = None,
        enabled: bool = True,
        initial: int = 0,
    ) -> None:
        self.file = sys.stdout if file is None else file
        self.enabled = enabled
        self.label = f"epoch {epoch:>{len(str(epochs))}}/{epochs}"
        self.bar: Any = None
        self.start = time.perf_counter()
        self.samples = 0
        widget = notebook_bar_class() if enabled and self.file is sys.stdout else None
        if widget is not None:
            self.bar = widget(total=num_batches, initial=initial, desc=self.label, leave=True,
                              unit="batch")
        elif enabled and _is_terminal(self.file):
            self.bar = tqdm(
                total=num_batches,
                initial=initial,
                desc=self.label,
                file=self.file,
                leave=True,
                dynamic_ncols=True,
                unit="batch",
            )

    def rate(self) -> float:
        """Training examples per second since the bar started."""
        return self.samples / max(time.perf_counter() - self.start, 1e-9)

    def update(self, summary: str, samples: int) -> None:
        """After a batch of ``samples`` examples: ``summary`` holds the epoch's running metrics."""
        self.samples += samples
        if self.bar is not None:
            self.bar.set_postfix_str(f"{summary} {format_rate(self.rate())}", refresh=False)
            self.bar.update(1)

    def close(self, summary: str, seconds: float, samples_per_second: float | None = None) -> None:
        """End the epoch: the bar keeps ``summary`` as its postfix, or a line is printed."""
        rate = "" if samples_per_second is None else format_rate(samples_per_second)
        if self.bar is not None:
            self.bar.set_postfix_str(f"{summary} {rate}".rstrip(), refresh=False)
            self.bar.close()
        elif self.enabled:
            timing = f"{seconds:.1f} s" + (f", {rate}" if rate else "")
            print(f"{self.label}  {summary}  ({timing})", file=self.file, flush=True)

    def abort(self) -> None:
        """End the epoch early (an error): close the bar where it stands."""
        if self.bar is not None:
            self.bar.close()
