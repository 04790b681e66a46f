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


def install() -> None:
    if (
        _is_the_command()
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    ):
        signal.signal(signal.SIGINT, _exit_quietly)


def restore_sigint() -> None:
    if signal.getsignal(signal.SIGINT) is _exit_quietly:
        signal.signal(signal.SIGINT, signal.default_int_handler)


install()
