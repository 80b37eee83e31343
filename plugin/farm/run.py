"""`faceright farm run BUNDLE`: a bundle run on this machine with ``openjd run`` (openjd-cli).

For studios with no farm and for the tests. One worker runs the whole job in one OpenJD
session (the steps in dependency order, each chunk a task). With ``workers`` > 1 the Gate step
runs first, then each shot's chunks are run by that many ``openjd run --step`` sessions side by
side, then its Assemble step — the template's own commands every time. The tasks' lines
(``faceright farm: ...``) are passed through and feed a frames bar.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceright.errors import DependencyMissingError, ShotError

from .bundle import PARAMETERS, SHOTS, TEMPLATE, read_shots, step_names

FARM_INSTALL = "pip install 'faceright[farm]'"
_DONE = re.compile(r"faceright farm: (?P<shot>.+?) frames (?P<first>\d+)-(?P<last>\d+): (?P<swapped>\d+) swapped, "
                   r"(?P<already>\d+) already")


@dataclass(frozen=True)
class RunResult:
    returncode: int
    failed: str | None = None        #: the step (and chunk) that failed


def openjd_program() -> str:
    found = shutil.which("openjd") or (str(Path(sys.executable).with_name("openjd"))
                                       if Path(sys.executable).with_name("openjd").exists() else None)
    if found is None:
        raise DependencyMissingError(f"`openjd` (openjd-cli) is not installed, so bundles cannot run here: {FARM_INSTALL}")
    return found


def parameter_values(folder: Path) -> dict[str, Any]:
    import yaml

    path = folder / PARAMETERS
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {item["name"]: item["value"] for item in data.get("parameterValues", [])}


def run_bundle(folder: Path, *, workers: int = 1, program: str | None = None,
               on_line: Callable[[str], None] | None = None,
               on_frames: Callable[[int, int], None] | None = None) -> RunResult:
    """Run the bundle in ``folder``; ``on_line`` gets every line openjd prints, ``on_frames`` the
    frames each finished chunk swapped and those it found done already."""
    folder = Path(folder).resolve()     # openjd runs in the bundle's folder: a relative path would not lead there
    template = folder / TEMPLATE
    if not template.is_file() or not (folder / SHOTS).is_file():
        raise ShotError(f"{folder} is not a faceright bundle (no {TEMPLATE} and {SHOTS}); write one with "
                        "`faceright farm bundle`")
    if workers < 1:
        raise ShotError(f"--workers must be at least 1, not {workers}")
    values = parameter_values(folder)
    if program is not None:
        values["Faceright"] = program
    base = [openjd_program(), "run", str(template)]
    for name, value in values.items():
        base += ["-p", f"{name}={value}"]
    lock = threading.Lock()

    def session(*extra: str) -> int:
        process = subprocess.Popen([*base, *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   cwd=folder)
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip("\n")
            with lock:
                if on_line is not None:
                    on_line(line)
                match = _DONE.search(line)
                if match and on_frames is not None:
                    on_frames(int(match["swapped"]), int(match["already"]))
        return process.wait()

    if workers == 1:
        code = session()
        return RunResult(code, None if code == 0 else "the job")
    if session("--step", "Gate") != 0:
        return RunResult(1, "Gate")
    chunk = int(values.get("ChunkSize", 24))
    for shot in read_shots(folder / SHOTS):
        swap, assemble = step_names(shot)
        frames = shot.plate.frames
        assert frames is not None
        chunks = [f"{a}-{min(a + chunk, frames.end) - 1}" for a in range(frames.first, frames.end, chunk)]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            codes = list(pool.map(lambda c: (c, session("--step", swap, "--no-run-dependencies",
                                                       "--task-param", f"Frames={c}")), chunks))
        failed = [c for c, code in codes if code != 0]
        if failed:
            return RunResult(1, f"{swap} (frames {', '.join(failed)})")
        if session("--step", assemble, "--no-run-dependencies") != 0:
            return RunResult(1, assemble)
    return RunResult(0)
