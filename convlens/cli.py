"""The ``convlens`` command line: the click group, its commands, and how it ends.

The commands live in :mod:`convlens.commands` (``train``, ``summary``, ``explain``, …); this
module puts them on the group. Every command ends the same way: exit code 0 on success, 2 for
a usage error (a bad option), 1 for a failure (one ``Error: …`` line), and 130 for Ctrl-C with
one line and never a traceback, whenever it is pressed (also during start-up, and twice).
"""

from __future__ import annotations

import contextlib
import importlib
import signal
import sys
from typing import Any

import click

from convlens.commands.train_setup import version

EXIT_INTERRUPTED = 130  # the shell's code for a process stopped by Ctrl-C (128 + SIGINT)


def _ignore_sigint() -> None:
    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)


class _Group(click.Group):
    """A click group whose Ctrl-C exits 130 with one line (click's own says "Aborted!", exit 1)."""

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        from convlens import _startup

        _startup.restore_sigint()
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            try:
                code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            except click.ClickException as err:
                err.show()
                code = err.exit_code
            except (click.Abort, KeyboardInterrupt):
                _ignore_sigint()
                click.echo("convlens: interrupted (Ctrl-C)", err=True)
                code = EXIT_INTERRUPTED
        except KeyboardInterrupt:  # a second Ctrl-C while the first was being reported
            _ignore_sigint()
            code = EXIT_INTERRUPTED
        # The command is over and its output written. Python's exit first puts SIGINT back to
        # the default action (kill, no line, status -2) and only then tears the modules down
        # (a tenth of a second, more on a busy machine): a Ctrl-C then would end a finished
        # command silently. Ignored instead (SIG_IGN survives the exit), the command's own status
        # stands; a Ctrl-C up to here gave the line and 130 above. Only in the command's own
        # process: a caller that catches SystemExit (click's CliRunner) keeps its Ctrl-C.
        if _startup.COMMAND:
            _ignore_sigint()
        sys.exit(code if isinstance(code, int) else 0)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List each command with its whole first sentence, wrapped (click cuts it at the
        terminal's width, often mid-phrase)."""
        rows = [(name, command.get_short_help_str(limit=300))
                for name in self.list_commands(ctx)
                if (command := self.get_command(ctx, name)) is not None and not command.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version(), prog_name="convlens")
def main() -> None:
    """convlens: convolutional neural networks on NumPy, with every number visible.

    \b
    A first session:
      convlens train                               # LeNet-5 on real digits -> runs/<time>-lenet5-mnist-5k/
      convlens predict runs/<that run> digit.png   # the top classes of a picture
      convlens summary runs/<that run>             # the trained network layer by layer
      convlens serve runs/<that run>               # look inside it in the browser

    Each command's --help lists its options and examples.
    """
    from convlens.functional import parallel

    try:
        parallel.num_threads()  # a bad CONVLENS_NUM_THREADS is named before any work starts
    except ValueError as err:
        raise click.ClickException(str(err)) from None


def _register_commands() -> None:
    """The commands live in ``convlens.commands``; put them on the group."""
    from convlens.commands import export as export_commands
    from convlens.commands import inspect as inspect_commands
    from convlens.commands import train as train_commands
    from convlens.commands import visualize as visualize_commands

    for command in [*train_commands.COMMANDS, *inspect_commands.COMMANDS, *visualize_commands.COMMANDS]:
        main.add_command(command)
    main.add_command(importlib.import_module("convlens.commands.predict").predict)
    main.add_command(importlib.import_module("convlens.commands.serve").serve)
    for command in export_commands.COMMANDS:
        main.add_command(command)


_register_commands()


if __name__ == "__main__":
    main()
