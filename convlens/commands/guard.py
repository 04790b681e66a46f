"""What every command checks before it works, and the net under it: no traceback ever.

* Option types that refuse what a range check lets through: :class:`FiniteFloat` refuses
  ``nan`` and ``inf`` (``click.FloatRange(min=0)`` accepts ``nan``: every comparison with
  NaN is false); :data:`SEED` is the range NumPy's generators take.
* :func:`check_output_file`: an ``--out`` file is tried before any work, so a command never
  computes for minutes and then fails to write, and a failed command changes no file.
* :func:`no_traceback`: a command's failure is one line on stderr and exit status 1
  (2 for usage errors, which click reports; 130 for Ctrl-C), whatever raised it.
"""

from __future__ import annotations

import functools
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

#: seeds NumPy's generators take (np.random.default_rng refuses negative ones)
SEED = click.IntRange(0, 2**32 - 1)
EXIT_INTERRUPTED = 130  # the shell's code for a process stopped by Ctrl-C (128 + SIGINT)


class FiniteFloat(click.ParamType):
    """A finite float within ``minimum`` and ``maximum`` (each bound optional, closed unless
    ``min_open`` / ``max_open``: ``FiniteFloat(0, min_open=True)`` is a learning rate's ``(0, inf)``)."""

    name = "finite float"

    def __init__(self, minimum: float | None = None, maximum: float | None = None, *,
                 min_open: bool = False, max_open: bool = False) -> None:
        self.minimum, self.maximum = minimum, maximum
        self.min_open, self.max_open = min_open, max_open

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"expected a number, received {value!r}", param, ctx)
        if not math.isfinite(number):
            overflow = math.isinf(number) and "inf" not in str(value).lower()
            beyond = f" (beyond the largest float, about {sys.float_info.max:.1e})" if overflow else ""
            self.fail(f"expected a finite number, received {value!r}{beyond}", param, ctx)
        if not self._within(number):
            self.fail(f"expected a number in {self._range()}, received {value!r}", param, ctx)
        return number

    def _within(self, number: float) -> bool:
        if self.minimum is not None and (number <= self.minimum if self.min_open else number < self.minimum):
            return False
        return self.maximum is None or (number < self.maximum if self.max_open else number <= self.maximum)

    def _range(self) -> str:
        low = "[-inf" if self.minimum is None else f"{'(' if self.min_open else '['}{self.minimum:g}"
        high = "inf]" if self.maximum is None else f"{self.maximum:g}{')' if self.max_open else ']'}"
        return f"{low}, {high}"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return f"FLOAT {self._range()}"


def check_output_file(path: Path | None, option: str = "--out") -> None:
    """Refuse an output file that cannot be written, before any work: a folder, a path inside
    a file, a missing or read-only folder, /proc. Tried by creating (and removing) a
    temporary file beside it, the way the atomic write will."""
    if path is None:
        return
    if path.is_dir():
        raise click.BadParameter(f"expected a file to write, received the folder {path}", param_hint=option)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        what = "is a file, not a folder" if parent.exists() else "does not exist"
        raise click.BadParameter(f"cannot write {path}: {parent} {what}", param_hint=option)
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f".{path.name}.", suffix=".tmp"):
            pass
    except OSError as err:
        raise click.BadParameter(f"cannot write {path}: {err.strerror or err}", param_hint=option) from None


def check_output_folder(path: Path, option: str = "--out") -> None:
    """Like :func:`check_output_file` for a folder the command will create or fill."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent  # the folder is made later: its first existing ancestor must take it
    if not probe.is_dir():
        raise click.BadParameter(f"cannot write into {path}: {probe} is a file, not a folder",
                                 param_hint=option)
    try:
        with tempfile.NamedTemporaryFile(dir=probe, prefix=".convlens-", suffix=".tmp"):
            pass
    except OSError as err:
        raise click.BadParameter(f"cannot write into {path}: {err.strerror or err}",
                                 param_hint=option) from None


# Python code the library's messages suggest as a fix; a shell user gets the words around it
_PYTHON_HINTS = (
    (re.compile(r"; for a single example add a batch axis: x\[None\] has shape \([^)]*\)"), ""),
    (re.compile(r", move it with x\.transpose\([^)]*\)"), ""),
)


def for_the_shell(message: str) -> str:
    """``message`` without the Python code (``x[None]``) it may suggest as a fix."""
    for pattern, replacement in _PYTHON_HINTS:
        message = pattern.sub(replacement, message)
    return message


def _one_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    if isinstance(err, MemoryError):
        return f"out of memory ({text}); use smaller inputs or a smaller batch"
    if isinstance(err, OSError) and err.filename is not None:
        return f"{err.filename}: {err.strerror or text}"
    known = (ValueError, TypeError, OSError, KeyError, IndexError, ArithmeticError, RuntimeError)
    if not isinstance(err, known):
        return f"{type(err).__name__}: {text} (unexpected: please report this as a convlens bug)"
    return text


def no_traceback(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``command`` so that any failure is one message and exit status 1, Ctrl-C one line and
    exit status 130. Click's own exceptions (usage errors: status 2) pass through."""

    @functools.wraps(command)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except click.exceptions.ClickException as err:
            err.message = for_the_shell(err.message)
            raise
        except (click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("convlens: interrupted (Ctrl-C)", err=True)  # as cli.py says it
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:  # `convlens models | head`: the reader has gone, say nothing
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # so Python's exit flush cannot fail again
            raise click.exceptions.Exit(0) from None
        except Exception as err:  # noqa: BLE001 - the net under every command
            if os.environ.get("CONVLENS_TRACEBACK"):
                raise
            raise click.ClickException(for_the_shell(_one_line(err))) from None

    return guarded
