"""The CLI's progress bar (faceright.progress): frames counted on the terminal, nothing when turned off."""
from __future__ import annotations

import subprocess
import sys

from faceright.progress import Progress, TerminalProgress


def test_the_bar_counts_the_frames_reported(capsys):
    with TerminalProgress("swap") as bar:
        bar(Progress(3, 10, 0.1))
        bar(Progress(7, 10, 0.2))
    err = capsys.readouterr().err
    assert "swap" in err and "7/10" in err


def test_no_progress_shows_nothing_and_does_not_import_tqdm():
    """``--no-progress`` (farm tasks, benchmarks, scripts) costs no bar and no tqdm import."""
    code = ("import sys\n"
            "from faceright.progress import Progress, TerminalProgress\n"
            "with TerminalProgress('swap', disable=True) as bar:\n"
            "    bar(Progress(1, 10, 0.1))\n"
            "print('tqdm' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False" and done.stderr == ""
