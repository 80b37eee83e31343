"""Partial outputs: SIGTERM through the CLI removes them like Ctrl-C; what SIGKILL leaves is
removed by the next write of the same output, and nothing else ever is."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from faceright import atomic
from faceright.atomic import STALE_AFTER_S, AtomicOutput, remove_stale_partials

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals and pid checks are POSIX here")

#: a `faceright label apply` whose work is slow: it opens the output, writes half, says where, waits
SLOW_COMMAND = textwrap.dedent('''
    import sys, time
    from faceright.atomic import AtomicOutput
    from faceright.cli import label, main

    def slow_apply(args):
        with AtomicOutput(args.out, overwrite=args.overwrite) as out:
            out.temp.write_bytes(b"half a render")
            print(out.temp, flush=True)
            time.sleep(60)
            out.commit()
        return 0

    label.run_apply = slow_apply
    sys.exit(main.main(["label", "apply", sys.argv[1], "--out", sys.argv[2]]))
''')


def _start(tmp_path: Path, out: Path) -> tuple[subprocess.Popen, Path]:
    source = tmp_path / "in.mov"
    source.write_bytes(b"not read")
    process = subprocess.Popen([sys.executable, "-c", SLOW_COMMAND, str(source), str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    if not line:
        process.kill()
        pytest.fail(f"the command did not start: {process.communicate()[1]}")
    partial = Path(line)
    assert partial.exists() and partial.parent == out.parent
    return process, partial


def _partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name)


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _age(path: Path, seconds: float) -> Path:
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_sigterm_unwinds_like_ctrl_c_removes_the_partial_and_exits_143_with_one_line(tmp_path):
    out = tmp_path / "shot.mov"
    process, partial = _start(tmp_path, out)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 143
    assert err.strip().splitlines() == ["faceright: terminated (SIGTERM)"]
    assert not partial.exists() and not out.exists()
    assert _partials(tmp_path) == []


def test_ctrl_c_exits_130_and_removes_the_partial(tmp_path):
    out = tmp_path / "shot.mov"
    process, partial = _start(tmp_path, out)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert err.strip().splitlines() == ["faceright: interrupted"]
    assert not partial.exists() and _partials(tmp_path) == []


def test_what_sigkill_leaves_is_removed_by_the_next_write_of_that_output_and_nothing_else(tmp_path):
    out = tmp_path / "shot.mov"
    process, partial = _start(tmp_path, out)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert partial.exists(), "SIGKILL cannot be caught: its partial stays until the next write"

    host = atomic._host()
    dead = _dead_pid()
    other_output = tmp_path / f".take2.mov.0123abcd.{host}.{dead}.partial.mov"
    live_writer = tmp_path / f".shot.mov.89abcdef.{host}.{os.getpid()}.partial.mov"
    other_machine = tmp_path / f".shot.mov.deadbeef.render-node-9.{dead}.partial.mov"
    users = [tmp_path / "shot.mov.bak", tmp_path / ".shot.mov.notes.txt",
             tmp_path / f".shot.mov.12345678.{host}.{dead}.partial.mov.txt",      # another suffix: not ours
             tmp_path / f".shot.mov.12345678.{host}.{dead}.partialmov"]
    for path in (other_output, live_writer, other_machine, *users):
        path.write_bytes(b"keep")
    link = tmp_path / f".shot.mov.0badf00d.{host}.{dead}.partial.mov"
    link.symlink_to(tmp_path / "shot.mov.bak")

    with AtomicOutput(out) as new:
        assert not partial.exists(), "the killed writer's partial of this output is gone"
        new.temp.write_bytes(b"whole render")
        new.commit()
    assert out.read_bytes() == b"whole render"
    for path in (other_output, live_writer, other_machine, *users):
        assert path.read_bytes() == b"keep", f"{path.name} is not a stale partial of shot.mov"
    assert link.is_symlink()


def test_partials_whose_writer_cannot_be_checked_are_stale_only_after_an_hour_untouched(tmp_path):
    target = tmp_path / "shot.mov"
    older_faceright = tmp_path / ".shot.mov.1f3a9c2e.partial.mov"          # no writer in the name
    other_machine = tmp_path / ".shot.mov.2f3a9c2e.render-node-9.4242.partial.mov"
    derived = tmp_path / ".shot.mov.3f3a9c2e.render-node-9.4242.partial.mov.unsigned.mov"
    for path in (older_faceright, other_machine, derived):
        path.write_bytes(b"x")
    assert remove_stale_partials(tmp_path, target.name) == []
    for path in (older_faceright, other_machine, derived):
        _age(path, STALE_AFTER_S + 60)
    assert sorted(remove_stale_partials(tmp_path, target.name)) == sorted([older_faceright, other_machine, derived])


def test_temporaries_a_writer_derives_from_its_partial_go_with_it(tmp_path):
    host, dead = atomic._host(), _dead_pid()
    partial = f".shot.mov.1f3a9c2e.{host}.{dead}.partial.mov"
    derived = [partial, f"{partial}.unsigned.mov",                                   # label apply's unsigned file
               f".{partial}.unsigned.mov.2f3a9c2e.{host}.{dead}.partial.mov"]       # written through AtomicOutput
    for name in derived:
        (tmp_path / name).write_bytes(b"x")
    assert sorted(p.name for p in remove_stale_partials(tmp_path, "shot.mov")) == sorted(derived)


def test_a_live_writer_on_this_machine_keeps_its_partial_however_old(tmp_path):
    partial = tmp_path / f".shot.mov.1f3a9c2e.{atomic._host()}.{os.getpid()}.partial.mov"
    partial.write_bytes(b"slow but alive")
    _age(partial, STALE_AFTER_S * 3)
    assert remove_stale_partials(tmp_path, "shot.mov") == []
    assert partial.exists()


def test_a_partial_name_says_which_output_machine_and_process_it_belongs_to(tmp_path):
    out = AtomicOutput(tmp_path / "plate.mov")
    name = out.temp.name
    assert name.startswith(".plate.mov.") and name.endswith(f".{atomic._host()}.{os.getpid()}.partial.mov")
    parsed = atomic._parse_partial(name)
    assert (parsed.target, parsed.host, parsed.pid) == ("plate.mov", atomic._host(), os.getpid())


def test_a_sequence_writer_cleans_the_stale_partials_of_its_frames_once(tmp_path, monkeypatch):
    import numpy as np
    from faceright.engine.media.sequence import SequenceWriter

    dead = _dead_pid()
    stale = tmp_path / f".plate.1001.png.1f3a9c2e.{atomic._host()}.{dead}.partial.png"
    other = tmp_path / f".other.1001.png.1f3a9c2e.{atomic._host()}.{dead}.partial.png"
    for path in (stale, other):
        path.write_bytes(b"x")
    scans = []
    real = atomic.remove_stale_partials
    monkeypatch.setattr(atomic, "remove_stale_partials", lambda *a, **k: scans.append(a) or real(*a, **k))
    with SequenceWriter(tmp_path / "plate.%04d.png") as writer:
        for _ in range(3):
            writer.write(np.zeros((8, 8, 3), np.uint8))
    assert not stale.exists() and other.exists()
    assert scans == [], "frames do not rescan the folder (the writer scanned it once, at open)"


def test_a_real_label_apply_stopped_by_sigterm_mid_encode_leaves_neither_partial_nor_output(
        tmp_path, studio_labels, astronaut):
    from clips import make_clip

    plate = make_clip(tmp_path / "plate.mov", astronaut, frames=480, size=(320, 240), audio=False)
    out_folder = tmp_path / "out"
    out_folder.mkdir()
    out = out_folder / "labelled.mov"
    cli = Path(sys.executable).with_name("faceright")
    command = [str(cli)] if cli.exists() else [sys.executable, "-m", "faceright.cli.main"]
    process = subprocess.Popen([*command, "label", "apply", str(plate), "--out", str(out), "--visible"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not _partials(out_folder) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if process.poll() is not None:
        pytest.fail(f"label apply ended (exit {process.returncode}) before its partial was seen: "
                    f"{process.communicate()[1]}")
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert err.strip().splitlines() == ["faceright: terminated (SIGTERM)"]
    assert list(out_folder.iterdir()) == []
