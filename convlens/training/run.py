"""A run folder: claimed by one process, checkpointed, resumed, and finished with its outputs.

::

    runs/20250101-120000-lenet5-mnist-5k/
        .convlens-lock   while a process writes the folder: its pid (removed when it ends)
        config.json      every setting and the command that repeats the run (written first)
        checkpoint.npz   the training state after the last epoch (or at Ctrl-C), one file
        log.csv          one row per finished epoch
        weights.npz      \
        model.convlens    | the final outputs (FINAL_OUTPUTS), written from the trained model;
        curves.png        } model.convlens is what cl.load, predict, serve and --init-from open
        metrics.json     /  metrics.json last: it says the run finished

Life of a run folder:

* :func:`claim` makes the folder (or takes an existing one for ``--resume``) and locks it with
  an exclusive, non-blocking ``flock`` on ``.convlens-lock``: a second process gets
  :class:`RunFolderBusy` and writes nothing. The kernel drops the lock when its holder dies, so
  a lock left by a killed process is taken over (with a note naming its pid).
* The trainer writes ``checkpoint.npz`` (see :mod:`convlens.training.checkpoint`: one file, one
  atomic replace, so a SIGKILL at any instant leaves the previous or the new checkpoint).
* :func:`write_final_outputs` writes every row of :data:`FINAL_OUTPUTS`, ``metrics.json`` last.
  If one fails (full disk, I/O error) it raises :class:`FinalOutputError` naming the file and
  the cause; the checkpoint is kept, and ``--resume`` on the finished run writes the missing
  outputs from it (:func:`missing_final_outputs`).
* A folder killed before its first checkpoint holds only ``config.json``: :func:`claim` lets a
  new run reuse it (:attr:`RunFolder.note` says so).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convlens.io import save_weights, write_json
from convlens.io.run_folder import MODEL_FILE
from convlens.training.callbacks import write_history_csv
from convlens.training.checkpoint import checkpoint_file

try:
    import fcntl
except ImportError:  # Windows: an O_EXCL lock file with the holder's pid instead
    fcntl = None  # type: ignore[assignment]

LOCK = ".convlens-lock"
CHECKPOINT = "checkpoint"
CONFIG = "config.json"
METRICS = "metrics.json"
# what a run killed before its first checkpoint leaves behind: a folder a new run may reuse
_BEFORE_FIRST_CHECKPOINT = {CONFIG, "log.csv", LOCK}
FINISHED = ("completed",)


class RunFolderError(OSError):
    """The run folder cannot be used: the message says why and what to do."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(code, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class RunFolderBusy(RunFolderError):
    """Another process holds the run folder."""


class RunFolderTaken(RunFolderError):
    """A new run was pointed at a folder that holds a run."""


class FinalOutputError(RunFolderError):
    """A final output could not be written; the checkpoint is kept to write it later."""

    def __init__(self, message: str, name: str, code: int | None) -> None:
        super().__init__(message, code)
        self.name = name


@dataclass
class RunResults:
    """What the final outputs are written from."""

    model: Any
    metrics: dict[str, Any]
    history: Any  # convlens.training.History
    config: dict[str, Any]
    title: str  # for the figures, e.g. "lenet5 on mnist-5k"
    dataset: Any = None  # the convlens.data.Dataset trained on (test part limited by --limit-test)


def _write_curves(path: Path, results: RunResults) -> None:
    from convlens.viz import plot_history  # matplotlib: imported only when needed

    plot_history(results.history, path, title=results.title)


def _has_curves(history: Any) -> bool:
    return bool(history.epochs and history.train_accuracy)


def _write_model_file(path: Path, results: RunResults) -> None:
    """``model.convlens``: architecture, weights and what predict needs (cl.load opens it)."""
    from convlens.io.model_file import save_model_file

    config = results.config
    metrics = {k: v for k, v in results.metrics.items()
               if k.startswith("test_") and isinstance(v, (int, float)) and v is not None}
    save_model_file(results.model, path, dataset=results.dataset, name=str(config.get("model")),
                    normalization=config.get("normalization"), metrics=metrics)


@dataclass(frozen=True)
class FinalOutput:
    """One file written when a run ends: ``write(path, results)``, if ``applies(history)``."""

    name: str
    write: Callable[[Path, RunResults], None]
    applies: Callable[[Any], bool] = field(default=lambda history: True)


# The files every run ends with, in the order they are written. metrics.json stays last: a
# metrics.json with status "completed" means every other output was written.
FINAL_OUTPUTS: tuple[FinalOutput, ...] = (
    FinalOutput("weights.npz", lambda path, r: save_weights(r.model, path)),
    FinalOutput(MODEL_FILE, _write_model_file),
    FinalOutput("log.csv", lambda path, r: write_history_csv(path, r.history)),
    FinalOutput("curves.png", _write_curves, _has_curves),
    FinalOutput(METRICS, lambda path, r: write_json(path, r.metrics)),
)


class RunFolder:
    """A run folder this process holds (see :func:`claim`); release it with :meth:`release`."""

    def __init__(self, path: Path, lock_fd: int, created: list[Path], note: str | None, new: bool) -> None:
        self.path = path
        self._new = new  # a new run: on failure before training, what it wrote goes again
        self._lock_fd: int | None = lock_fd
        self._created = created  # folders this claim made (removed if the run leaves nothing)
        self.note = note  # a message for the user about what the claim found (or None)

    @property
    def checkpoint(self) -> Path:
        """The checkpoint path without suffix, as :class:`~convlens.training.Trainer` takes it."""
        return self.path / CHECKPOINT

    def has_checkpoint(self) -> bool:
        return checkpoint_file(self.checkpoint).is_file()

    def release(self, *, keep: bool = True) -> None:
        """Unlock. With ``keep=False`` (the command failed before training), remove what the
        claim and the run wrote so far (config.json, log.csv) and the folders it created."""
        if self._lock_fd is None:
            return
        if not keep and self._new and not self.has_checkpoint():
            for name in (CONFIG, "log.csv"):
                with contextlib.suppress(OSError):
                    (self.path / name).unlink()
        with contextlib.suppress(OSError):
            (self.path / LOCK).unlink()
        os.close(self._lock_fd)  # drops the flock
        self._lock_fd = None
        if not keep:
            for folder in reversed(self._created):
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only if empty

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            with contextlib.suppress(ValueError):  # a second Ctrl-C must not cut the clean-up short
                signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.release(keep=kind is None)


def _make_folders(path: Path) -> list[Path]:
    """``mkdir -p path``; returns the folders it created, outermost first."""
    missing: list[Path] = []
    here = path
    while not here.exists():
        missing.append(here)
        if here.parent == here:
            break
        here = here.parent
    if here.exists() and not here.is_dir():
        if here == path:
            raise RunFolderError(f"cannot use {path} as a run folder: it is a file, not a folder")
        raise RunFolderError(f"cannot create the run folder {path}: {here} is a file, not a folder")
    created: list[Path] = []
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:
            continue  # made meanwhile by another process
        except OSError as err:
            for made in reversed(created):
                with contextlib.suppress(OSError):
                    made.rmdir()
            why = err.strerror or str(err)
            if err.errno == errno.ENOENT and folder.parent.is_dir():  # e.g. /proc: no folders can be made
                why = f"the file system at {folder.parent} does not allow new folders ({why})"
            raise RunFolderError(
                f"cannot create the run folder {path}: {why}; choose a folder you can write to", err.errno
            ) from None
        created.append(folder)
    if not path.is_dir():
        raise RunFolderError(f"cannot use {path} as a run folder: it is a file, not a folder")
    return created


def _holder(lock_path: Path) -> str:
    try:
        text = lock_path.read_text().split()
    except (OSError, UnicodeDecodeError):
        return "another process"
    return f"process {text[0]}" + (f" on {text[1]}" if len(text) > 1 else "") if text else "another process"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _lock(path: Path) -> tuple[int, str | None]:
    """Lock ``path/LOCK``; returns the descriptor and a note if a dead process's lock was taken over."""
    lock_path = path / LOCK
    busy = (
        f"{path} is in use by {{holder}} (a `convlens train` writing this run folder): wait for it "
        "to finish or stop it; two processes never write one run folder"
    )
    for _ in range(10):
        try:
            flags = os.O_RDWR | os.O_CREAT | (0 if fcntl is not None else os.O_EXCL)
            fd = os.open(lock_path, flags, 0o644)
        except FileExistsError:  # no flock: the O_EXCL lock file of a live or dead process
            previous = _holder(lock_path)
            pid = previous.split()[1] if previous.startswith("process ") else ""
            if pid.isdigit() and not _pid_alive(int(pid)):
                with contextlib.suppress(FileNotFoundError):
                    lock_path.unlink()
                continue
            raise RunFolderBusy(busy.format(holder=previous)) from None
        except OSError as err:
            raise RunFolderError(f"cannot write in {path}: {err.strerror or err}", err.errno) from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                os.close(fd)
                if err.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise RunFolderBusy(busy.format(holder=_holder(lock_path))) from None
                raise RunFolderError(f"cannot lock {lock_path}: {err.strerror or err}", err.errno) from None
            try:  # the holder may have removed the file between our open and our lock
                same = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
        holder = os.read(fd, 200).decode(errors="replace").split()
        note = None
        if holder and holder[0] != str(os.getpid()):
            note = (
                f"note: {path} was locked by process {holder[0]}, which is no longer running "
                "(killed?); taking the folder over"
            )
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()} {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode())
        return fd, note
    raise RunFolderBusy(busy.format(holder=_holder(lock_path)))


def claim(path: str | os.PathLike[str], *, resume: bool = False) -> RunFolder:
    """Take ``path`` as this process's run folder.

    A new run (``resume=False``) needs a folder that does not exist, is empty, or holds only
    what a run killed before its first checkpoint left (``config.json``, a dead lock): it is
    created and locked. ``resume=True`` locks an existing folder.

    Raises:
        RunFolderBusy: another process holds the folder.
        RunFolderError: it cannot be created or written, or a new run would overwrite a run.
    """
    path = Path(path)
    if resume:
        if not path.is_dir():
            raise RunFolderError(f"cannot resume: there is no run folder {path}")
        created: list[Path] = []
    else:
        created = _make_folders(path)
    try:
        fd, note = _lock(path)
    except BaseException:
        for made in reversed(created):
            with contextlib.suppress(OSError):
                made.rmdir()
        raise
    folder = RunFolder(path, fd, created, note, new=not resume)
    if resume:
        with contextlib.suppress(OSError):
            _remove_temporaries(path)  # of a killed process; this one is the only writer now
        return folder
    try:
        _remove_temporaries(path)
        present = {p.name for p in path.iterdir()}
        if present - _BEFORE_FIRST_CHECKPOINT:
            raise RunFolderTaken(
                f"{path} already exists and is not an empty folder; runs are never overwritten "
                f"(it holds {', '.join(sorted(present - {LOCK})[:4])}): choose a new --out, or leave "
                "it out for a fresh folder under runs/ (to continue that run, use --resume)"
            )
        if present - {LOCK}:
            leftover = sorted(present - {LOCK})
            for name in leftover:
                (path / name).unlink()
            folder.note = (
                (folder.note + "\n" if folder.note else "")
                + f"note: {path} holds a run stopped before its first checkpoint (nothing was trained); "
                f"reusing the folder (removed {', '.join(leftover)})"
            )
    except BaseException:
        folder.release(keep=False)
        raise
    return folder


def _is_temporary(name: str) -> bool:
    """A file ``convlens.io.atomic_write`` had not yet moved into place when its process died."""
    return name.startswith(".") and name.endswith(".tmp")


def _remove_temporaries(path: Path) -> None:
    for stale in path.iterdir():
        if _is_temporary(stale.name):
            with contextlib.suppress(OSError):
                stale.unlink()


def describe_unstarted(path: Path) -> str | None:
    """Why ``path`` cannot be resumed if it is a run stopped before its first checkpoint."""
    present = {p.name for p in path.iterdir() if not _is_temporary(p.name)} if path.is_dir() else set()
    if CONFIG in present and not present - _BEFORE_FIRST_CHECKPOINT:
        command = None
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            command = json.loads((path / CONFIG).read_text()).get("command")
        again = f"{command} --out {path}" if isinstance(command, str) else f"convlens train … --out {path}"
        return (
            f"{path} holds a run stopped before its first checkpoint: nothing was trained, so there "
            f"is nothing to resume; start it again in the same folder with: {again}"
        )
    return None


def missing_final_outputs(path: Path, history: Any) -> list[str]:
    """The final outputs a finished run in ``path`` lacks (all of them if metrics.json does
    not say the run finished: an earlier attempt to write them failed part-way)."""
    wanted = [o.name for o in FINAL_OUTPUTS if o.applies(history)]
    status = None
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        status = json.loads((path / METRICS).read_text()).get("status")
    if status not in FINISHED:
        return wanted
    return [name for name in wanted if not (path / name).is_file()]


def write_final_outputs(path: Path, results: RunResults) -> list[str]:
    """Write every applicable row of :data:`FINAL_OUTPUTS`; returns the names written.

    Raises:
        FinalOutputError: a file could not be written: names it and the cause, and says how
            to finish (the checkpoint, kept, holds everything needed).
    """
    written = []
    for output in FINAL_OUTPUTS:
        if not output.applies(results.history):
            continue
        target = path / output.name
        try:
            output.write(target, results)
        except OSError as err:
            raise FinalOutputError(
                f"could not write {target}: {err.strerror or err}. The trained state is safe in "
                f"{checkpoint_file(path / CHECKPOINT)}; free some space (or fix the cause), then "
                f"write the missing outputs with: convlens train --resume {path}",
                output.name,
                err.errno,
            ) from None
        written.append(output.name)
    return written
