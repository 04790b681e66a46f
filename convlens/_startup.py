"""Ctrl-C while the ``convlens`` command is still importing: exit 130 with one line.

``convlens/__init__.py`` imports this first. When the process is the ``convlens`` command (or
``python -m convlens``), Ctrl-C during the imports ends the process with exit code 130 and one
line instead of a ``KeyboardInterrupt`` traceback; :func:`restore_sigint` (called by the
command line as it starts) puts Python's handler back. Library users are not affected.
"""

from __future__ import annotations

import os
import signal
import sys
import threading


def _exit_quietly(signum: int, frame: object) -> None:
    os.write(2, b"\nconvlens: interrupted (Ctrl-C) while starting; nothing was done\n")
    os._exit(130)


def _is_the_command() -> bool:
    argv0 = sys.argv[0] if sys.argv else ""
    return argv0 == "-m" or os.path.basename(argv0) in ("convlens", "convlens.exe")


#: whether this process is the ``convlens`` command (decided on import: ``python -m`` names
#: the module file in ``sys.argv[0]`` later); the command line ignores a Ctrl-C during the exit
#: only then, never in a process that merely calls ``convlens.cli.main`` (a test runner)
COMMAND = _is_the_command()


def install() -> None:
    if (
        COMMAND
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    ):
        signal.signal(signal.SIGINT, _exit_quietly)


def restore_sigint() -> None:
    if signal.getsignal(signal.SIGINT) is _exit_quietly:
        signal.signal(signal.SIGINT, signal.default_int_handler)


install()
