"""The README's first command, `faceright demo`, and the step 2 it prints: a publish blocked on purpose,
then the licensed cut published end to end (swapped shots, conformed labelled deliverable, ledger, report)."""
from __future__ import annotations

import json
import shlex

import av
import numpy as np
import pytest

from faceright.cli.main import main

FRAMES = 24


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return tmp_path_factory.mktemp("demo")


def _step2(out: str) -> list[str]:
    line = next(line for line in out.splitlines() if line.strip().startswith("FACERIGHT_HOME="))
    return shlex.split(line)


def test_demo_blocks_the_unlicensed_donor_then_its_step_2_publishes_the_licensed_cut(demo, capsys, monkeypatch):
    code = main(["demo", "--out", str(demo), "--frames", str(FRAMES), "--no-progress", "--backend", "classic"])
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert code == 0, out
    # the blocked publish: the reason named, nothing swapped, nothing in the ledger, a report written
    assert "BLOCKED" in out and "license.identity_mismatch" in out and "sh030" in out
    blocked = demo / "ep01.publish"
    assert (blocked / "ep01.report.html").is_file()
    assert not list((blocked / "shots").glob("*.mp4")) and not (blocked / "ep01.mp4").exists()
    home = demo / "demo-studio" / "home"
    assert not (home / "ledger" / "ledger.sqlite").exists()

    # step 2, as printed
    words = _step2(out)
    assert words[0] == f"FACERIGHT_HOME={home}" and words[1:3] == ["faceright", "publish"]
    monkeypatch.setenv("FACERIGHT_HOME", str(home))
    monkeypatch.delenv("FACERIGHT_CONFIG", raising=False)
    code = main(["publish", words[3], "--no-progress", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["passed"] is True, result
    published = demo / "ep01_licensed.publish"
    deliverable = published / "ep01_licensed.mp4"
    # the deliverable holds the whole cut in order: sh010 (from the plate), the cutaway, sh030 (from the plate)
    with av.open(str(deliverable)) as container:
        frames = [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]
    with av.open(str(demo / "plate.mp4")) as container:
        plate = [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]
    cutaway = 24   # publish_example's default cutaway length
    assert len(frames) == FRAMES + cutaway
    assert (frames[0].shape[1], frames[0].shape[0]) == (1280, 720)
    half = FRAMES // 2

    def gap(a, b):   # mean absolute difference over the lower half of the frame (below the label and face)
        return float(np.abs(a[400:] - b[400:]).mean())

    assert gap(frames[0], plate[0]) < 8 and gap(frames[-1], plate[-1]) < 8
    assert gap(frames[half + cutaway // 2], plate[half]) > 20
    # the swapped shots differ from the plate around the face; the visible label and metadata are proven
    # by an independent run of `label verify`
    assert main(["label", "verify", str(deliverable), "--deliverable",
                 "--pubkey", str(demo / "demo-studio" / "demo-aigc-ed25519.pub.pem")]) == 0
    for shot in ("sh010", "sh030"):
        assert (published / "shots" / f"{shot}.mp4").is_file()
    # one ledger record, its chain intact, naming both shots and their license
    capsys.readouterr()
    assert main(["ledger", "verify"]) == 0
    assert "intact: 1 record" in capsys.readouterr().out
    assert main(["ledger", "export", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    entry = records[0]["entry"] if isinstance(records, list) else records["records"][0]["entry"]
    license_id = json.loads((demo / "demo-studio" / "likeness-license.json").read_text())["body"]["license_id"]
    assert [s["shot_id"] for s in entry["shots"]] == ["sh010", "sh030"]
    assert {s["license_id"] for s in entry["shots"]} == {license_id}
    report = (published / "ep01_licensed.report.html").read_text(encoding="utf-8")
    assert "PASSED" in report and report.count("data:image/") >= 7   # 3 crops per shot + the label crop


def test_the_step_2_command_names_the_program_as_it_was_started_when_faceright_is_not_on_path(tmp_path,
                                                                                             monkeypatch):
    from faceright.engine.cli import demo as demo_cli

    program = tmp_path / ".venv" / "bin" / "faceright"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", [".venv/bin/faceright", "demo"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert demo_cli._program() == ".venv/bin/faceright"
    monkeypatch.setenv("PATH", f"{program.parent}:/usr/bin:/bin")   # an activated venv
    assert demo_cli._program() == "faceright"
