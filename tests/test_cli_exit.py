"""How the ``convlens`` command ends (convlens/cli.py): a Ctrl-C that comes once a command has
written its output, while Python exits, never kills the process silently."""

import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from process_runs import ROOT

from convlens.cli import main


@pytest.mark.parametrize("delay", [0.0, 0.04])
def test_ctrl_c_while_a_finished_command_exits_keeps_its_status_or_says_interrupted(delay):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "convlens", "gradcheck", "simple_cnn", "--max-checks", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []
    for line in proc.stdout:  # the last line of the report: the command is done
        lines.append(line)
        if line.startswith("largest relative error"):
            break
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert lines[-1].startswith("largest relative error"), (lines, err)
    # before: killed by the default SIGINT action during Python's exit (status -2, no line)
    assert proc.returncode == 0 or proc.returncode == 130 and "interrupted (Ctrl-C)" in err, \
        (proc.returncode, err)
    assert "Traceback" not in err


def test_running_the_command_in_process_leaves_the_caller_s_ctrl_c_alone():
    # a test runner (CliRunner catches SystemExit) keeps its handler, and the processes it
    # starts later do not inherit an ignored SIGINT
    before = signal.getsignal(signal.SIGINT)
    result = CliRunner().invoke(main, ["models"])
    assert result.exit_code == 0, result.output
    assert signal.getsignal(signal.SIGINT) is before
