"""Face shots on a farm: `faceright farm bundle` writes an Open Job Description bundle, `faceright
farm run` runs it here with openjd-cli, and the workers' tasks (`faceright farm task ...`) do the work.

A 96-frame shot run as 4 chunks gives the same video stream as the same FaceShot swapped in one
process (compared by ffmpeg, an independent reader), with a proven label and a ledger record; the
Gate step refuses an unlicensed shot before any chunk runs; a chunk killed with SIGKILL leaves
only its staging folder, and the re-run redoes only what is missing; two workers and a tampered
frame give the same result; every bundle passes `openjd check`. The unit tests cover the path
mapping, the chunk values and the bundle's refusals.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
import yaml

from faceright.errors import ShotError
from faceright.shot import FaceShot

from service_support import Studio, faceright_command, make_studio, pictures_md5

pytest.importorskip("openjd.cli", reason="openjd-cli (the farm extra) runs the bundles")

FRAMES = 96
CHUNK = 24
CHUNKS = [(0, 23), (24, 47), (48, 71), (72, 95)]
#: what a chunk task prints when it is done
CHUNK_LINE = re.compile(r"faceright farm: sh010 frames (?P<first>\d+)-(?P<last>\d+): (?P<swapped>\d+) swapped, "
                        r"(?P<already>\d+) already done and verified")
PROGRAM = str(Path(sys.executable).with_name("faceright"))


def openjd() -> str:
    found = Path(sys.executable).with_name("openjd")
    return str(found) if found.exists() else (shutil.which("openjd") or "openjd")


def environment(studio: Studio) -> dict[str, str]:
    env = {**os.environ, "FACERIGHT_HOME": str(studio.home)}
    for name in ("FACERIGHT_SERVICE_URL", "FACERIGHT_CONFIG", "FACERIGHT_MODELS"):
        env.pop(name, None)
    return env


def bundle(studio: Studio, source: Path | dict, out: Path, *options: str) -> Path:
    """`faceright farm bundle` of a shot document (written next to ``out``) or a timeline; the bundle
    must pass `openjd check`."""
    if isinstance(source, dict):
        path = out.parent / f"{out.name}.shot.json"
        path.write_text(json.dumps(source), encoding="utf-8")
        source = path
    made = subprocess.run([*faceright_command(), "farm", "bundle", str(source), "--out", str(out), *options],
                          env=environment(studio), capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr
    checked = subprocess.run([openjd(), "check", str(out / "template.yaml")], capture_output=True, text=True,
                             timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return out


def farm_run(studio: Studio, folder: Path, *options: str) -> subprocess.CompletedProcess:
    """`faceright farm run` of ``folder``: its stdout and stderr together in ``.stdout``."""
    return subprocess.run([*faceright_command(), "farm", "run", str(folder), "--no-progress", "--program", PROGRAM,
                           *options], env=environment(studio), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=600)


def chunk_lines(output: str) -> dict[tuple[int, int], tuple[int, int]]:
    """``(first, last) -> (swapped, already done)`` of every chunk line; each chunk at most once."""
    found: dict[tuple[int, int], tuple[int, int]] = {}
    for match in CHUNK_LINE.finditer(output):
        key = (int(match["first"]), int(match["last"]))
        assert key not in found, f"chunk {key} reported twice:\n{output}"
        found[key] = (int(match["swapped"]), int(match["already"]))
    return found


def staging_folders(job: Path) -> list[Path]:
    return sorted((job / "frames" / "sh010").glob(".staging-*"))


@pytest.fixture(scope="module")
def studio(tmp_path_factory) -> Studio:
    return make_studio(tmp_path_factory.mktemp("farm"), long_plate=FRAMES)


def long_shot(studio: Studio, output: str, **kwargs) -> dict:
    return studio.shot("sh010", output, plate="show:long.mp4", frames=(0, FRAMES), **kwargs)


@pytest.fixture(scope="module")
def single(studio) -> str:
    """The pictures' md5 of the same shot swapped in one process, as `faceright swap` does."""
    from faceright.engine.jobs.local import LocalEngine

    with LocalEngine(studio.config()) as engine:
        outcome = engine.swap(FaceShot.from_json(long_shot(studio, "show:out/single.mp4")))
    assert outcome.frames == FRAMES and outcome.faces_swapped > 0
    return pictures_md5(studio.root / "out" / "single.mp4")


@pytest.fixture(scope="module")
def completed(studio, tmp_path_factory):
    """A bundle of the 96-frame shot in 4 chunks of 24 (fixed sizes), run here with one worker."""
    folder = bundle(studio, long_shot(studio, "show:out/farm.mp4"), tmp_path_factory.mktemp("bundles") / "farm",
                    "--chunk-size", str(CHUNK), "--target-runtime", "0")
    run = farm_run(studio, folder, "--quiet")
    assert run.returncode == 0, run.stdout
    return folder, run


@pytest.fixture(scope="module")
def two_workers(studio, tmp_path_factory):
    folder = bundle(studio, long_shot(studio, "show:out/two.mp4"), tmp_path_factory.mktemp("bundles") / "two",
                    "--chunk-size", str(CHUNK), "--target-runtime", "0")
    run = farm_run(studio, folder, "--workers", "2", "--quiet")
    assert run.returncode == 0, run.stdout
    return folder, run


# -- the job end to end -------------------------------------------------------------------------------


def test_a_shot_in_four_chunks_equals_the_single_process_swap(studio, single, completed):
    from faceright.labels.verify import verify_file
    from faceright.ledger import open_ledger

    folder, run = completed
    output = studio.root / "out" / "farm.mp4"
    assert pictures_md5(output) == single
    # exactly the 4 chunks ran, each swapping its 24 frames
    assert chunk_lines(run.stdout) == {chunk: (CHUNK, 0) for chunk in CHUNKS}
    assert len(CHUNK_LINE.findall(run.stdout)) == 4
    # the label is proven: by the assemble step's results and again on the file
    results = json.loads((folder / "job" / "results" / "sh010.faceshot.json").read_text(encoding="utf-8"))
    assert results["results"]["label_proven"] is True
    assert results["results"]["outputs"][0]["path"] == "show:out/farm.mp4"
    report = verify_file(output, studio.config().labels)
    assert report.proven, [f.message for f in report.findings]
    # recorded in the ledger as a farm job, with the output's hash
    with open_ledger(studio.config()) as ledger:
        records = [r for r in ledger.records() if r.entry.get("kind") == "farm.job"
                   and r.entry["shot"]["output"]["path"] == "show:out/farm.mp4"]
    assert len(records) == 1
    assert records[0].entry["shot"]["results"]["outputs"][0]["sha256"] == results["results"]["outputs"][0]["sha256"]
    # the job folder: the frames and their span manifests, no staging left
    frames = folder / "job" / "frames" / "sh010"
    manifests = sorted((frames / "spans").glob("*.json"))
    assert len(manifests) == 4
    listed = set()
    for manifest in manifests:
        listed |= {int(n) for n in json.loads(manifest.read_text(encoding="utf-8"))["frames"]}
    assert listed == set(range(FRAMES))
    assert len(list(frames.glob("frame.*.png"))) == FRAMES
    assert not staging_folders(folder / "job")
    assert (folder / "job" / "gate.json").is_file()


def test_the_gate_refuses_an_unlicensed_shot_before_any_chunk_runs(studio, tmp_path):
    from faceright.engine.demo import PLATE_IMAGE, packaged_image

    shutil.copyfile(packaged_image(*PLATE_IMAGE), studio.root / "stranger.png")   # a face no license covers
    doc = long_shot(studio, "show:out/refused.mp4", donor="show:stranger.png")
    folder = bundle(studio, doc, tmp_path / "refused", "--chunk-size", str(CHUNK), "--target-runtime", "0")
    run = farm_run(studio, folder, "--quiet")
    assert run.returncode == 1, run.stdout
    assert "license.identity_mismatch" in run.stdout
    assert not CHUNK_LINE.search(run.stdout)
    job = folder / "job"
    assert not (job / "frames").exists()
    assert not (job.exists() and list(job.rglob("*.png")))
    assert not (studio.root / "out" / "refused.mp4").exists()


def test_a_chunk_killed_mid_way_is_redone_and_only_the_missing_chunks_run(studio, single, tmp_path):
    folder = bundle(studio, long_shot(studio, "show:out/killed.mp4"), tmp_path / "killed",
                    "--chunk-size", str(CHUNK), "--target-runtime", "0")
    job, output = folder / "job", studio.root / "out" / "killed.mp4"
    log = tmp_path / "first-run.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([*faceright_command(), "farm", "run", str(folder), "--no-progress", "--program",
                                    PROGRAM], env=environment(studio), stdout=sink, stderr=subprocess.STDOUT)
        try:
            victim = None
            deadline = time.monotonic() + 240
            while victim is None and time.monotonic() < deadline and process.poll() is None:
                for staging in staging_folders(job):
                    _, first, last, pid = staging.name.rsplit("-", 3)
                    if int(first) in (24, 48) and len(list(staging.glob("*.png"))) >= 3:
                        victim = (staging, (int(first), int(last)), int(pid))
                        break
                else:
                    time.sleep(0.02)
            assert victim is not None, f"no 2nd or 3rd chunk was seen swapping:\n{log.read_text(errors='replace')}"
            staging, killed, pid = victim
            os.kill(pid, signal.SIGKILL)     # the chunk task's own process
            code = process.wait(240)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(30)
    first_run = log.read_text(encoding="utf-8", errors="replace")
    assert code != 0, first_run
    assert not output.exists()
    assert staging.is_dir()
    done_before = {chunk for chunk in chunk_lines(first_run)}
    assert done_before == {chunk for chunk in CHUNKS if chunk[0] < killed[0]}

    again = farm_run(studio, folder)
    assert again.returncode == 0, again.stdout
    lines = chunk_lines(again.stdout)
    assert lines == {chunk: ((0, CHUNK) if chunk in done_before else (CHUNK, 0)) for chunk in CHUNKS}
    assert pictures_md5(output) == single
    assert not staging.exists() and not staging_folders(job)


def test_chunks_that_do_not_start_on_a_key_frame_give_the_same_video(studio, tmp_path):
    """Chunks of 10 (key frames every 12): each run is analysed from the key frame before it, its
    lead-in neither swapped nor written, so the faces followed are the single run's."""
    from faceright.engine.jobs.local import LocalEngine

    doc = studio.shot("sh010", "show:out/single30.mp4", plate="show:long.mp4", frames=(0, 30))
    with LocalEngine(studio.config()) as engine:
        engine.swap(FaceShot.from_json(doc))
    folder = bundle(studio, {**doc, "output": {"path": "show:out/chunks10.mp4"}}, tmp_path / "ten",
                    "--chunk-size", "10", "--target-runtime", "0")
    # a relative bundle path, as a TD types it
    run = subprocess.run([*faceright_command(), "farm", "run", "ten", "--no-progress", "--quiet", "--program", PROGRAM],
                         env=environment(studio), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stdout
    assert chunk_lines(run.stdout) == {(0, 9): (10, 0), (10, 19): (10, 0), (20, 29): (10, 0)}
    assert pictures_md5(studio.root / "out" / "chunks10.mp4") == pictures_md5(studio.root / "out" / "single30.mp4")
    assert len(list((folder / "job" / "frames" / "sh010").glob("*.png"))) == 30   # no lead-in frame kept


def test_a_chunk_whose_lead_in_leaves_a_face_undecided_is_decoded_from_further_back(studio, tmp_path, monkeypatch):
    """The hysteresis keeps a track's decision for as long as the face stays between the pose limit and
    its margin, so a lead-in whose frames never decided it cannot know it: the chunk is then decoded from
    further back (doubling), down to the shot's first frame, and nothing of the short try is kept. Here
    a track counts as decided after 30 frames seen (a face that stayed at 35° that long)."""
    from faceright.engine.farm import tasks
    from faceright.engine.jobs import swap as swap_job
    from faceright.engine.jobs.local import LocalEngine
    from faceright.engine.tracks import FaceTracks
    from faceright.frames import FrameRange

    update = FaceTracks.update

    def counted(self, faces):
        self.frames_seen = getattr(self, "frames_seen", 0) + 1
        return update(self, faces)

    monkeypatch.setattr(FaceTracks, "update", counted)
    monkeypatch.setattr(FaceTracks, "decided", property(lambda self: getattr(self, "frames_seen", 0) > 30))
    tries = []
    swap_request = swap_job.swap_request

    def recorded(shot, media, request, *args, **kwargs):
        tries.append((request.frames.first, request.lead_in, request.settle_lead_in))
        return swap_request(shot, media, request, *args, **kwargs)

    monkeypatch.setattr(swap_job, "swap_request", recorded)
    shot = FaceShot.from_json(long_shot(studio, "show:out/reach.mp4"))
    job = tasks.JobFolder(tmp_path / "job")
    config = studio.config()
    with LocalEngine(config) as engine:
        done = tasks.run_chunk(shot, FrameRange(40, 50), job, engine, config, keyframe_interval=12)
        # a lead-in of 16 frames (from key frame 24) leaves the track undecided; the next try starts at the
        # shot's first frame, where the single run starts too, so it needs no settling
        assert done == (10, 0) and tries == [(24, 16, True), (0, 40, False)]
        tries.clear()
        monkeypatch.setattr(FaceTracks, "decided", property(lambda self: True))
        assert tasks.run_chunk(shot, FrameRange(60, 70), job, engine, config, keyframe_interval=12) == (10, 0)
        assert tries == [(48, 12, True)]            # decided by its lead-in: one try
    frames = job.frames(shot)
    assert sorted(int(p.stem.split(".")[-1]) for p in frames.glob("*.png")) == [*range(40, 50), *range(60, 70)]
    assert staging_folders(tmp_path / "job") == []


def test_a_10_bit_plate_assembled_from_chunks_equals_the_single_process_swap(studio, tmp_path):
    """A deep plate's output blends the plate's own samples with the faces' weights: the chunks keep
    those weights in their frames' alpha channel, so the assemble makes the single run's pictures
    (here super-whites above video white under the face's soft edge, which the 8-bit copy clips)."""
    from faceright.engine.jobs.local import LocalEngine

    deep = studio.root / "deep.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(studio.root / "long.mp4"), "-frames:v", "24", "-an",
                    "-vf", "format=yuv444p10le,lutyuv=y='clip(val*1.3,0,1023)'", "-c:v", "ffv1", str(deep)],
                   check=True)
    doc = studio.shot("sh010", "show:out/deep_single.mkv", plate="show:deep.mkv", frames=(0, 24))
    with LocalEngine(studio.config()) as engine:
        assert engine.swap(FaceShot.from_json(doc)).faces_swapped > 0
    folder = bundle(studio, {**doc, "output": {"path": "show:out/deep_farm.mkv"}}, tmp_path / "deep",
                    "--chunk-size", "12", "--target-runtime", "0")
    run = farm_run(studio, folder, "--quiet")
    assert run.returncode == 0, run.stdout
    chunk_frame = next((folder / "job" / "frames" / "sh010").glob("*.png"))
    assert cv2.imread(str(chunk_frame), cv2.IMREAD_UNCHANGED).shape[2] == 4     # the faces' weights kept
    assert pictures_md5(studio.root / "out" / "deep_farm.mkv") == pictures_md5(studio.root / "out" / "deep_single.mkv")


def test_a_deliverable_is_assembled_with_its_visible_label_from_the_first_frame(studio, tmp_path):
    """The assemble step burns the visible "AI生成" in (the chunks never do) and proves it by OCR on the
    written file, as `faceright swap` does for a deliverable."""
    from faceright.engine.demo import write_demo_plate
    from faceright.labels.verify import verify_file

    write_demo_plate(studio.root / "hd48.mp4", frames=48)   # 2 s at 1280x720: the label's least duration
    doc = studio.shot("sh010", "show:out/deliverable.mp4", plate="show:hd48.mp4", frames=(0, 48))
    doc["output"]["deliverable"] = True
    folder = bundle(studio, doc, tmp_path / "deliverable", "--chunk-size", "24", "--target-runtime", "0")
    run = farm_run(studio, folder, "--quiet")
    assert run.returncode == 0, run.stdout
    report = verify_file(studio.root / "out" / "deliverable.mp4", studio.config().labels, target="deliverable")
    assert report.proven and "visible" in report.required, [f.message for f in report.findings]
    chunk_frame = next((folder / "job" / "frames" / "sh010").glob("*.png"))
    assert not verify_file(chunk_frame, studio.config().labels, target="deliverable").proven   # no text in chunks


def test_two_workers_give_the_same_output_as_one(studio, single, two_workers):
    folder, run = two_workers
    assert chunk_lines(run.stdout) == {chunk: (CHUNK, 0) for chunk in CHUNKS}
    assert pictures_md5(studio.root / "out" / "two.mp4") == single
    results = json.loads((folder / "job" / "results" / "sh010.faceshot.json").read_text(encoding="utf-8"))
    assert results["results"]["label_proven"] is True
    assert not staging_folders(folder / "job")


def test_a_tampered_frame_redoes_only_its_chunk(studio, single, two_workers):
    folder, _ = two_workers
    frames = folder / "job" / "frames" / "sh010"
    output = studio.root / "out" / "two.mp4"
    # frame 50 (chunk 48-71) now holds frame 49's picture: a valid PNG, the wrong bytes
    shutil.copyfile(frames / "frame.0000049.png", frames / "frame.0000050.png")
    output.unlink()
    again = farm_run(studio, folder, "--quiet")
    assert again.returncode == 0, again.stdout
    lines = chunk_lines(again.stdout)
    assert lines == {(0, 23): (0, CHUNK), (24, 47): (0, CHUNK), (48, 71): (1, CHUNK - 1), (72, 95): (0, CHUNK)}
    assert pictures_md5(output) == single
    assert not staging_folders(folder / "job")


# -- the bundle -----------------------------------------------------------------------------------------


def test_the_template_chunks_the_frames_and_orders_the_steps(studio, tmp_path):
    folder = bundle(studio, long_shot(studio, "show:out/template.mp4"), tmp_path / "template",
                    "--chunk-size", "12", "--target-runtime", "60")
    template = yaml.safe_load((folder / "template.yaml").read_text(encoding="utf-8"))
    assert template["specificationVersion"] == "jobtemplate-2023-09"
    assert template["extensions"] == ["TASK_CHUNKING"]
    steps = {step["name"]: step for step in template["steps"]}
    assert list(steps) == ["Gate", "Swap sh010", "Assemble sh010"]
    assert "dependencies" not in steps["Gate"]
    assert steps["Swap sh010"]["dependencies"] == [{"dependsOn": "Gate"}]
    assert steps["Assemble sh010"]["dependencies"] == [{"dependsOn": "Swap sh010"}]
    (frames,) = steps["Swap sh010"]["parameterSpace"]["taskParameterDefinitions"]
    assert frames["name"] == "Frames" and frames["type"] == "CHUNK[INT]" and frames["range"] == "0-95"
    assert frames["chunks"]["rangeConstraint"] == "CONTIGUOUS"
    assert frames["chunks"]["defaultTaskCount"] == "{{Param.ChunkSize}}"
    assert frames["chunks"]["targetRuntimeSeconds"] == "{{Param.TargetRuntime}}"
    assert "{{Task.Param.Frames}}" in steps["Swap sh010"]["script"]["actions"]["onRun"]["args"]
    defaults = {p["name"]: p.get("default") for p in template["parameterDefinitions"]}
    assert defaults["ChunkSize"] == 12 and defaults["TargetRuntime"] == 60
    assert defaults["Shots"] == "shots.json" and defaults["JobFolder"] == "job"

    values = yaml.safe_load((folder / "parameter_values.yaml").read_text(encoding="utf-8"))
    assert {(v["name"], v["value"]) for v in values["parameterValues"]} >= {("ChunkSize", 12), ("TargetRuntime", 60)}
    assets = yaml.safe_load((folder / "asset_references.yaml").read_text(encoding="utf-8"))["assetReferences"]
    assert "shots.json" in assets["inputs"]["filenames"]
    assert "job" in assets["outputs"]["directories"]
    (shot,) = json.loads((folder / "shots.json").read_text(encoding="utf-8"))
    assert shot["shot_id"] == "sh010" and shot["plate"]["frames"] == {"first": 0, "last": 95}


def test_a_shot_named_by_plain_paths_is_bundled_with_root_names(studio, tmp_path):
    root, built = studio.root, studio.built
    doc = long_shot(studio, str(root / "out" / "plain.mp4"))
    doc["plate"]["path"] = str(root / "long.mp4")
    doc["donor"]["image"] = str(root / built.donor.name)
    doc["license"]["path"] = str(built.studio.license)
    doc["release"]["path"] = str(built.studio.release)
    folder = bundle(studio, doc, tmp_path / "plain", "--chunk-size", str(CHUNK))
    text = (folder / "shots.json").read_text(encoding="utf-8")
    (shot,) = json.loads(text)
    assert shot["plate"]["path"] == "show:long.mp4"
    assert shot["donor"]["image"] == f"show:{built.donor.name}"
    assert shot["license"]["path"] == f"show:{built.studio.license.relative_to(root).as_posix()}"
    assert shot["release"]["path"] == f"show:{built.studio.release.relative_to(root).as_posix()}"
    assert shot["output"]["path"] == "show:out/plain.mp4"
    assert str(root) not in text


def test_a_timeline_with_two_face_shots_is_one_checked_bundle(studio, tmp_path):
    folder = bundle(studio, studio.built.example.licensed, tmp_path / "timeline")
    template = yaml.safe_load((folder / "template.yaml").read_text(encoding="utf-8"))
    steps = {step["name"]: step.get("dependencies") for step in template["steps"]}
    assert list(steps) == ["Gate", "Swap sh010", "Assemble sh010", "Swap sh030", "Assemble sh030"]
    for shot in ("sh010", "sh030"):
        assert steps[f"Swap {shot}"] == [{"dependsOn": "Gate"}]
        assert steps[f"Assemble {shot}"] == [{"dependsOn": f"Swap {shot}"}]
    shots = json.loads((folder / "shots.json").read_text(encoding="utf-8"))
    assert [s["shot_id"] for s in shots] == ["sh010", "sh030"]
    assert all(s["plate"].get("frames") for s in shots)     # the chunks need each shot's range


# -- units ----------------------------------------------------------------------------------------------


def test_path_mapping_rules(tmp_path):
    from faceright.farm.pathmap import PathMapping

    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"version": "pathmapping-1.0", "path_mapping_rules": [
        {"source_path_format": "WINDOWS", "source_path": "S:\\show", "destination_path": "/mnt/show"},
        {"source_path_format": "POSIX", "source_path": "/Volumes/show", "destination_path": "/mnt/mac"},
        {"source_path_format": "POSIX", "source_path": "/Volumes/show/plates", "destination_path": "/mnt/plates"},
    ]}), encoding="utf-8")
    mapping = PathMapping.load(rules)
    assert len(mapping.rules) == 3
    assert mapping.apply("S:\\show\\plates\\sh010.mp4") == "/mnt/show/plates/sh010.mp4"
    assert mapping.apply("s:\\SHOW\\plates\\sh010.mp4") == "/mnt/show/plates/sh010.mp4"     # case-insensitive
    assert mapping.apply("S:/show/plates/sh010.mp4") == "/mnt/show/plates/sh010.mp4"        # either slash
    assert mapping.apply("S:\\shows\\sh010.mp4") == "S:\\shows\\sh010.mp4"                  # a prefix by parts only
    assert mapping.apply("/Volumes/show/donors/a.png") == "/mnt/mac/donors/a.png"
    assert mapping.apply("/Volumes/show/plates/a.mp4") == "/mnt/plates/a.mp4"               # the longest first
    assert mapping.apply("/volumes/show/a.png") == "/volumes/show/a.png"                    # POSIX is case-sensitive
    assert mapping.apply("/elsewhere/a.png") == "/elsewhere/a.png"
    assert mapping.apply("show:plates/sh010.mp4") == "show:plates/sh010.mp4"                # a root name untouched
    assert mapping.apply(None) is None

    empty = tmp_path / "empty.json"
    empty.write_text("{}", encoding="utf-8")
    assert PathMapping.load(empty).rules == ()
    (tmp_path / "nothing.json").write_bytes(b"")
    assert PathMapping.load(tmp_path / "nothing.json").rules == ()
    assert PathMapping.load(None).rules == () and PathMapping.load(tmp_path / "absent.json").rules == ()
    assert PathMapping.load(empty).apply("S:\\show\\a.mp4") == "S:\\show\\a.mp4"


def test_path_mapping_applies_to_a_shots_plain_paths_only(studio):
    from faceright.engine.farm.tasks import mapped
    from faceright.farm.pathmap import PathMapping, Rule

    doc = studio.shot("sh010", "S:\\show\\out\\sh010.mp4", plate="S:\\show\\plates\\sh010.mp4",
                      donor="show:donors/a.png")
    doc["license"]["path"] = "S:\\show\\licenses\\a.json"
    doc["release"]["path"] = "show:releases/a.json"
    shot = FaceShot.from_json(doc)
    moved = mapped(shot, PathMapping((Rule("WINDOWS", "S:\\show", "/mnt/show"),)))
    assert moved.plate.path == "/mnt/show/plates/sh010.mp4"
    assert moved.license.path == "/mnt/show/licenses/a.json"
    assert moved.output.path == "/mnt/show/out/sh010.mp4"
    assert moved.donor.image == "show:donors/a.png" and moved.release.path == "show:releases/a.json"
    assert mapped(shot, PathMapping()) == shot


def test_parse_chunk():
    from faceright.engine.farm.tasks import parse_chunk
    from faceright.frames import FrameRange

    assert parse_chunk("5") == FrameRange(5, 6)
    assert parse_chunk("0-23") == FrameRange(0, 24)
    assert parse_chunk(" 1001-1048\n") == FrameRange(1001, 1049)


def test_write_bundle_refusals(studio, tmp_path):
    from faceright.farm.bundle import MAX_CHUNK, write_bundle

    framed = FaceShot.from_json(long_shot(studio, "show:out/a.mp4"))
    unframed = FaceShot.from_json(studio.shot("sh020", "show:out/b.mp4"))
    with pytest.raises(ShotError, match="frame range"):
        write_bundle([unframed], tmp_path / "b1")
    with pytest.raises(ShotError, match="sh010"):
        write_bundle([framed, framed], tmp_path / "b2")
    for size in (0, MAX_CHUNK + 1):
        with pytest.raises(ShotError, match="chunk size"):
            write_bundle([framed], tmp_path / "b3", chunk_size=size)
    with pytest.raises(ShotError):
        write_bundle([], tmp_path / "b4")
    assert MAX_CHUNK == 150
    assert not any((tmp_path / name).exists() for name in ("b1", "b2", "b3", "b4"))
    made = write_bundle([framed], tmp_path / "b5", chunk_size=MAX_CHUNK)
    assert made.steps == ("Gate", "Swap sh010", "Assemble sh010") and made.template.is_file()
