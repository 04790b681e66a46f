"""Progress output for training: a live tqdm bar on a terminal, one line per epoch elsewhere.

In a log file or a CI console a redrawn bar would leave hundreds of ``\\r`` fragments, so when
the output is not a terminal each epoch prints a single summary line instead. In a Jupyter
notebook training is quiet unless asked (``verbose=True``): the cell's result is the
:class:`~convlens.training.History`, and a notebook is not a terminal, so asking gives the
one-line-per-epoch form.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Any

from tqdm import tqdm


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


def in_notebook() -> bool:
    """Whether this process is a Jupyter (IPython kernel) process."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    shell = get() if callable(get) else None
    if shell is None:
        return False
    return type(shell).__name__ == "ZMQInteractiveShell" or "IPKernelApp" in getattr(shell, "config", {})


def resolve_verbose(verbose: bool | None) -> bool:
    """``None`` means: show progress, except in a notebook."""
    return (not in_notebook()) if verbose is None else bool(verbose)


class EpochProgress:
    """Progress of one epoch: ``update`` after each batch, ``close`` with the epoch summary.

    Args:
        epoch: 1-based epoch number; ``epochs`` the total.
        num_batches: batches in the epoch (the bar's length).
        file: where to write, ``sys.stdout`` when ``None``.
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
        if enabled and _is_terminal(self.file):
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
