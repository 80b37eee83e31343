"""`faceright swap` end to end on real clips: no face without a covering license and release,
and every bad input refused cleanly."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from PIL import Image

from faceright.cli.main import main
from faceright.config import Config
from faceright.engine.jobs.swap import swap_shot
from faceright.engine.runtime import Runtime
from faceright.engine.settings import EngineSettings
from faceright.engine.types import cosine
from faceright.shot import DocumentRef, Donor, FaceShot, Output, Plate
from faceright.usage import Usage

from clips import make_clip, read_index
from conftest import TEST_PROVIDER_CODE
from readback import readback, tag
from onnx_builders import build_arcface, build_inswapper, build_yunet_stub
from swap_licenses import Studio, make_studio, reference


@pytest.fixture(autouse=True)
def _labelled(studio_labels):
    """Every swap here runs in a studio whose AIGC label is configured."""


@pytest.fixture(scope="module")
def plate(tmp_path_factory, astronaut) -> Path:
    return make_clip(tmp_path_factory.mktemp("plate") / "plate.mov", astronaut, frames=24, motion="pan")


@pytest.fixture(scope="module")
def analyser(tmp_path_factory):
    return Runtime(EngineSettings(models_dir=tmp_path_factory.mktemp("models"))).analyser()


@pytest.fixture(scope="module")
def refs(analyser, grace_hopper_path, astronaut_path, t1_path) -> dict:
    """Real SFace references: the donor (Grace Hopper), the plate performer (the astronaut), and
    the largest face of insightface's group photo."""
    return {"donor": reference(analyser, grace_hopper_path), "plate": reference(analyser, astronaut_path),
            "group": reference(analyser, t1_path)}


@pytest.fixture
def studio(studio_labels, tmp_path, refs) -> Studio:
    """This test's studio: a license for the donor and a release for the plate performer."""
    folder = tmp_path / "documents"
    folder.mkdir()
    return make_studio(studio_labels, folder, donor_reference=refs["donor"], plate_reference=refs["plate"])


def swap(studio: Studio, *args: str, **usage: str) -> int:
    return main(["swap", *args, *studio.args(**usage), "--no-progress"])


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name or p.name.startswith("."))


def test_swap_replaces_the_plate_face_by_the_donor_and_keeps_range_audio_and_timecode(studio, 
        tmp_path, plate, grace_hopper_path, analyser, capsys):
    out = tmp_path / "out.mov"
    before = _digest(plate)
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out),
                 "--frames", "4-15")
    assert code == 0, capsys.readouterr().err
    assert _digest(plate) == before, "the plate must never be modified"
    frames = _frames(out)
    assert [read_index(f) for f in frames] == list(range(4, 16))
    with av.open(str(out)) as container:
        assert len(container.streams.audio) == 1
        assert container.streams.video[0].metadata.get("timecode") == "01:00:00:04"
    plate_frames = _frames(plate)
    donor = analyser.one_face(cv2.imread(str(grace_hopper_path)), what="donor")
    for k in (0, 11):
        swapped = analyser.one_face(frames[k], what="output")
        original = analyser.one_face(plate_frames[4 + k], what="plate")
        assert cosine(swapped.embedding, donor.embedding) > cosine(original.embedding, donor.embedding) + 0.25
    assert "12/12 frames" in capsys.readouterr().out


def test_a_donor_without_a_face_is_refused_before_anything_is_written(studio, tmp_path, plate, capsys):
    donor = tmp_path / "wall.png"
    cv2.imwrite(str(donor), np.full((200, 200, 3), 180, np.uint8))
    out = tmp_path / "out.mov"
    code = swap(studio, "--donor", str(donor), "--plate", str(plate), "--out", str(out))
    err = capsys.readouterr().err
    assert code == 2
    assert "donor image" in err and "wall.png" in err
    assert not out.exists() and _leftovers(tmp_path) == []


def test_a_donor_with_several_faces_is_refused(studio, tmp_path, plate, t1_path, capsys):
    code = swap(studio, "--donor", str(t1_path), "--plate", str(plate), "--out", str(tmp_path / "o.mov"),
                 )
    err = capsys.readouterr().err
    assert code == 2
    assert "6 faces found in the donor image" in err and "t1.jpg" in err
    assert not (tmp_path / "o.mov").exists()


def test_the_largest_face_of_a_group_photo_can_be_the_donor(studio_labels, refs, tmp_path, plate, t1_path):
    studio = make_studio(studio_labels, tmp_path, donor_reference=refs["group"], plate_reference=refs["plate"])
    code = swap(studio, "--donor", str(t1_path), "--donor-largest", "--plate", str(plate),
                 "--out", str(tmp_path / "o.mov"), "--frames", "0-1")
    assert code == 0 and len(_frames(tmp_path / "o.mov")) == 2


def test_an_unreadable_plate_gets_a_clear_message(studio, tmp_path, grace_hopper_path, capsys):
    bad = tmp_path / "plate.mov"
    bad.write_bytes(b"this is not a movie" * 100)
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(bad), "--out", str(tmp_path / "o.mov"),
                 )
    err = capsys.readouterr().err
    assert code == 2 and "plate.mov" in err
    assert "Traceback" not in err
    assert not (tmp_path / "o.mov").exists() and _leftovers(tmp_path) == []


def test_the_output_may_not_be_the_plate(studio, tmp_path, plate, grace_hopper_path, capsys):
    copy = tmp_path / "plate.mov"
    copy.write_bytes(plate.read_bytes())
    before = _digest(copy)
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(copy), "--out", str(copy),
                 "--overwrite")
    assert code == 2 and "never writes over its source" in capsys.readouterr().err
    assert _digest(copy) == before


def test_a_model_whose_signature_does_not_fit_the_swapper_role_is_refused(studio, tmp_path, plate, grace_hopper_path, capsys):
    detector = build_yunet_stub(tmp_path / "my_swapper.onnx")
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(tmp_path / "o.mov"),
                 "--backend", str(detector))
    err = capsys.readouterr().err
    assert code == 2 and "swapper" in err and "detector" in err
    assert not (tmp_path / "o.mov").exists()


def test_a_frame_range_outside_the_plate_is_refused(studio, tmp_path, plate, grace_hopper_path, capsys):
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(tmp_path / "o.mov"),
                 "--frames", "20-40")
    assert code == 2 and "frame" in capsys.readouterr().err.lower()
    assert not (tmp_path / "o.mov").exists()


def test_a_failure_midway_leaves_the_previous_output_intact(studio, tmp_path, plate, grace_hopper_path, monkeypatch):
    out = tmp_path / "out.mov"
    out.write_bytes(b"previous render")
    runtime = Runtime(EngineSettings(models_dir=tmp_path / "models"))
    swapper = runtime.swapper("classic")
    calls = {"n": 0}
    real = swapper.patches_batch

    def failing(items, prepared):
        calls["n"] += len(items)
        if calls["n"] > 10:
            raise RuntimeError("GPU fell off the bus")
        return real(items, prepared)

    swapper.patches_batch = failing
    monkeypatch.setattr(runtime, "swapper", lambda name=None, **kw: swapper)
    shot = FaceShot("sh010", Plate(str(plate)), Donor(str(grace_hopper_path)), DocumentRef(str(studio.license)),
                    DocumentRef(str(studio.release)), Usage("PRJ-0001", "douyin", "CN", date.today(), tier="ordinary"),
                    Output(str(out), overwrite=True))
    with pytest.raises(RuntimeError, match="fell off the bus"):
        swap_shot(shot, runtime, Config.load())
    assert out.read_bytes() == b"previous render"
    assert _leftovers(tmp_path) == []


def test_a_swap_over_an_image_sequence_keeps_its_frame_numbers(studio, tmp_path, astronaut, grace_hopper_path):
    from clips import make_sequence

    make_sequence(tmp_path / "plate.%04d.png", astronaut, frames=4, first=1001)
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(tmp_path / "plate.%04d.png"),
                 "--out", str(tmp_path / "out.####.png"), "--frames", "1002-1003")
    assert code == 0
    assert sorted(p.name for p in tmp_path.glob("out.*.png")) == ["out.1002.png", "out.1003.png"]
    plate_frame = cv2.imread(str(tmp_path / "plate.1002.png"))
    out_frame = cv2.imread(str(tmp_path / "out.1002.png"))
    assert out_frame.shape == plate_frame.shape and not np.array_equal(out_frame, plate_frame)


def test_an_inswapper_model_without_an_arcface_recogniser_says_which_model_to_add(studio, 
        tmp_path, plate, grace_hopper_path, capsys):
    models = tmp_path / "models"
    models.mkdir()
    build_inswapper(models / "inswapper_128.onnx")
    assert main(["models", "--models-dir", str(models), "add", str(models / "inswapper_128.onnx")]) == 0
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(tmp_path / "o.mov"),
                 "--models-dir", str(models))
    err = capsys.readouterr().err
    assert code == 2 and "512-d" in err and "faceright models add" in err
    assert not (tmp_path / "o.mov").exists()


def test_an_installed_inswapper_and_arcface_are_used_by_default(studio, tmp_path, plate, grace_hopper_path, capsys):
    models = tmp_path / "models"
    models.mkdir()
    build_inswapper(models / "swap.onnx")
    build_arcface(models / "rec.onnx")
    for name in ("swap.onnx", "rec.onnx"):   # a TD registers users' models; unregistered ones are never picked
        assert main(["models", "--models-dir", str(models), "add", str(models / name)]) == 0
    out = tmp_path / "o.mov"
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out),
                 "--models-dir", str(models), "--frames", "0-3")
    assert code == 0, capsys.readouterr().err
    assert "with inswapper:" in capsys.readouterr().out
    plate_frames, out_frames = _frames(plate)[:4], _frames(out)
    # the test model inverts the aligned crop: the face region turns into its negative
    changed = [np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 60 for a, b in zip(plate_frames, out_frames)]
    assert all(c.mean() > 0.02 for c in changed)



def test_the_documents_recogniser_and_the_swapper_load_while_the_donor_is_analysed(studio, tmp_path, plate,
                                                                                   grace_hopper_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    build_inswapper(models / "swap.onnx")
    build_arcface(models / "rec.onnx")
    for name in ("swap.onnx", "rec.onnx"):
        assert main(["models", "--models-dir", str(models), "add", str(models / name)]) == 0
    made: dict[str, str] = {}
    create = Runtime._create

    def recorded(runtime, model, chosen):
        made[model.name] = threading.current_thread().name
        return create(runtime, model, chosen)

    monkeypatch.setattr(Runtime, "_create", recorded)
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(tmp_path / "o.mov"),
                "--models-dir", str(models), "--frames", "0-1")
    assert code == 0
    # the analyser (YuNet + the user's ArcFace) on the job's thread; the SFace the documents' references
    # were made with, and the swapper, on the loading thread at the same time
    assert made["rec"] == made["yunet-2023mar-int8bq"] == threading.main_thread().name
    assert made["sface-2021dec-int8bq"].startswith("faceright-load") and made["swap"].startswith("faceright-load")

def test_a_video_codec_setting_is_no_obstacle_to_a_sequence_output(studio, tmp_path, plate, grace_hopper_path, capsys):
    """--crf/--preset (or a FaceShot's swap.crf) name libx264's settings: a sequence output has no use for them."""
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--crf", "10", "--preset", "fast",
                "--out", str(tmp_path / "shot.%04d.png"), "--frames", "0-1")
    assert code == 0, capsys.readouterr().err
    assert [p.name for p in sorted(tmp_path.glob("shot.*.png"))] == ["shot.1001.png", "shot.1002.png"]


def test_a_video_swapped_into_a_sequence_is_labelled_in_every_frame_file(studio, tmp_path, plate, grace_hopper_path, capsys):
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate),
                 "--out", str(tmp_path / "shot.%04d.png"), "--frames", "0-2")
    assert code == 0, capsys.readouterr().err
    files = sorted(tmp_path.glob("shot.*.png"))
    assert [p.name for p in files] == ["shot.1001.png", "shot.1002.png", "shot.1003.png"]
    for path in files:   # read back by Pillow, not by faceright: XMP with the TC260 AIGC property
        with Image.open(path) as image:
            xmp = image.info.get("XML:com.adobe.xmp", "")
        assert "TC260:AIGC" in xmp and TEST_PROVIDER_CODE in xmp, path


def test_every_swap_output_carries_the_signed_aigc_label_read_back_independently(studio, 
        tmp_path, plate, grace_hopper_path, capsys):
    out = tmp_path / "shot.mp4"
    assert swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out),
                 "--frames", "0-5") == 0
    assert "label: proven in the file (metadata)" in capsys.readouterr().out
    aigc = json.loads(tag(readback(out)["format"], "AIGC"))
    assert list(aigc) == ["Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator",
                          "PropagateID", "ReservedCode2"]
    assert aigc["Label"] == "1" and aigc["ContentProducer"] == TEST_PROVIDER_CODE
    assert main(["label", "verify", str(out)]) == 0


def test_a_deliverable_also_carries_the_visible_label_found_by_ocr(studio, tmp_path, astronaut, grace_hopper_path, capsys):
    plate = make_clip(tmp_path / "cut.mov", astronaut, frames=60, size=(480, 272), motion="still")
    out = tmp_path / "master.mp4"
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out),
                 "--deliverable")
    printed = capsys.readouterr().out
    assert code == 0 and "label: proven in the file (metadata, visible)" in printed, printed
    capsys.readouterr()
    assert main(["label", "verify", str(out), "--deliverable"]) == 0
    # the plain shot output of the same swap has no visible text: as a deliverable it fails
    shot = tmp_path / "shot.mp4"
    assert swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(shot),
                 ) == 0
    assert main(["label", "verify", str(shot), "--deliverable"]) == 1


def test_a_studio_without_a_configured_label_cannot_swap(studio, tmp_path, plate, grace_hopper_path, capsys, isolated_home):
    (isolated_home / "config.toml").unlink()
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(tmp_path / "o.mov"),
                 )
    err = capsys.readouterr().err
    assert code == 2 and "provider_code" in err
    assert not (tmp_path / "o.mov").exists()


def test_the_encoder_preset_and_quality_reach_the_writer(studio, tmp_path, plate, grace_hopper_path):
    sizes = {}
    for crf in (10, 40):
        out = tmp_path / f"crf{crf}.mp4"
        assert swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out),
                     "--frames", "0-11", "--preset", "ultrafast", "--crf", str(crf)) == 0
        sizes[crf] = out.stat().st_size
    assert sizes[10] > 3 * sizes[40]


# -- no swap without a covering license and release ------------------------------------------------


def _refused(code: int, err: str, out: Path, *codes: str) -> None:
    assert code == 1, err
    assert "refused, nothing was written" in err
    for c in codes:
        assert c in err, err
    assert not out.exists() and _leftovers(out.parent) == []


def test_a_swap_without_license_and_release_is_refused_before_anything_is_read(tmp_path, plate, grace_hopper_path,
                                                                               studio_labels, capsys):
    out = tmp_path / "o.mov"
    code = main(["swap", "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "--license" in err and "--release" in err and "--production" in err
    assert not out.exists()


def test_a_license_for_another_platform_refuses_the_shot_with_every_reason(studio, tmp_path, plate,
                                                                           grace_hopper_path, capsys):
    out = tmp_path / "o.mov"
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out),
                platform="kuaishou", tier="key")
    _refused(code, capsys.readouterr().err, out, "license.platform_out_of_scope", "license.tier_above_license")


def test_a_refused_shot_does_not_wait_for_the_swapper_to_finish_loading(studio, tmp_path, plate,
                                                                        grace_hopper_path, capsys, monkeypatch):
    """The swapper loads on the job's loading thread beside the checks; a shot the documents refuse
    returns at once, not after a (real inswapper's: seconds) session is made for nothing."""
    loading, release = threading.Event(), threading.Event()
    swapper = Runtime.swapper

    def slow(runtime, *args, **kwargs):
        if threading.current_thread().name.startswith("faceright-load"):
            loading.set()
            assert release.wait(20), "the test did not let the swapper finish loading"
        return swapper(runtime, *args, **kwargs)

    monkeypatch.setattr(Runtime, "swapper", slow)
    out = tmp_path / "o.mov"
    try:
        code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out),
                    platform="kuaishou", tier="key")
        still_loading = loading.is_set() and not release.is_set()
    finally:
        release.set()
    _refused(code, capsys.readouterr().err, out, "license.platform_out_of_scope")
    assert still_loading   # the refusal came back while the swapper was held mid-load


_HELD_LOAD = r"""
import json, sys, threading, time
from faceright.cli.main import main
from faceright.engine.runtime import Runtime

swapper = Runtime.swapper
def held(runtime, *args, **kwargs):
    if threading.current_thread().name.startswith("faceright-load"):
        time.sleep(120)   # a swapper that takes far longer to load than the checks
    return swapper(runtime, *args, **kwargs)
Runtime.swapper = held
print(main(json.loads(sys.argv[1])), flush=True)
"""


def test_a_cli_process_whose_shot_is_refused_exits_without_waiting_for_the_swapper(studio, tmp_path, plate,
                                                                                   grace_hopper_path):
    """Python joins a thread pool's workers when the interpreter exits: the loading thread is a daemon,
    so the refused command's process ends when the command does."""
    out = tmp_path / "o.mov"
    argv = ["swap", "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out),
            *studio.args(platform="kuaishou", tier="key"), "--no-progress"]
    try:
        done = subprocess.run([sys.executable, "-c", _HELD_LOAD, json.dumps(argv)], capture_output=True,
                              text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the refused command's process waited for its swapper to load")
    assert done.stdout.split() == ["1"], done.stderr
    assert "license.platform_out_of_scope" in done.stderr and not out.exists()


def test_a_donor_who_is_not_the_licensed_person_is_refused(studio, tmp_path, plate, t1_path, capsys):
    out = tmp_path / "o.mov"
    code = swap(studio, "--donor", str(t1_path), "--donor-largest", "--plate", str(plate), "--out", str(out))
    err = capsys.readouterr().err
    _refused(code, err, out, "license.identity_mismatch")
    assert "likeness license" in err


def test_a_plate_face_the_release_does_not_cover_is_refused(studio_labels, refs, tmp_path, plate,
                                                            grace_hopper_path, capsys):
    # the release's reference is someone else than the astronaut on the plate
    studio = make_studio(studio_labels, tmp_path, donor_reference=refs["donor"], plate_reference=refs["group"])
    out = tmp_path / "o.mov"
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out))
    err = capsys.readouterr().err
    _refused(code, err, out, "license.identity_mismatch")
    assert "plate release" in err and "frame 0" in err


@pytest.mark.parametrize("which", ["license", "release"])
def test_a_revoked_license_or_release_is_refused(studio_labels, refs, tmp_path, plate, grace_hopper_path,
                                                 capsys, which):
    studio = make_studio(studio_labels, tmp_path, donor_reference=refs["donor"], plate_reference=refs["plate"],
                         revoked=(which,))
    out = tmp_path / "o.mov"
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out))
    err = capsys.readouterr().err
    _refused(code, err, out, "license.revoked")
    assert ("likeness license" if which == "license" else "plate release") in err


def test_documents_signed_by_an_untrusted_key_are_refused(studio_labels, refs, tmp_path, plate,
                                                          grace_hopper_path, capsys):
    elsewhere = tmp_path / "other-home"
    elsewhere.mkdir()
    stranger = make_studio(elsewhere, tmp_path, donor_reference=refs["donor"], plate_reference=refs["plate"])
    out = tmp_path / "o.mov"
    code = swap(stranger, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out))
    _refused(code, capsys.readouterr().err, out, "license.key_unknown")


def test_a_release_given_where_the_license_belongs_is_refused(studio, tmp_path, plate, grace_hopper_path, capsys):
    swapped = Studio(studio.release, studio.license, studio.usage_args)
    out = tmp_path / "o.mov"
    code = swap(swapped, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out))
    _refused(code, capsys.readouterr().err, out, "license.wrong_kind", "release.wrong_kind")


def test_a_shot_file_runs_and_its_results_name_the_documents_and_the_output(studio, tmp_path, plate,
                                                                           grace_hopper_path, capsys):
    out = tmp_path / "o.mov"
    shot = FaceShot("ep01_sh010", Plate(str(plate), frames=None), Donor(str(grace_hopper_path)),
                    DocumentRef(str(studio.license)), DocumentRef(str(studio.release)),
                    Usage("PRJ-0001", "douyin", "CN", date.today(), tier="ordinary"), Output(str(out)))
    (tmp_path / "shot.json").write_text(shot.dumps())
    done = tmp_path / "done.json"
    code = main(["swap", "--shot", str(tmp_path / "shot.json"), "--results", str(done), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    results = FaceShot.load(done).results
    license_body = json.loads(studio.license.read_text())["body"]
    release_body = json.loads(studio.release.read_text())["body"]
    assert (results.license_id, results.release_id) == (license_body["license_id"], release_body["release_id"])
    assert [(o.path, o.sha256) for o in results.outputs] == [(str(out), _digest(out))]
    aigc = json.loads(tag(readback(out)["format"], "AIGC"))
    assert results.produce_id == aigc["ProduceID"] and results.label_proven is True
    assert {m.kind for m in results.models} == {"detector", "recogniser", "swapper"}
    assert all(len(m.sha256) == 64 for m in results.models if m.kind != "swapper")
    assert "license.signature_ok" in {v.code for v in results.verdicts}


def test_a_shot_naming_its_documents_by_id_only_is_refused_until_a_store_exists(studio, tmp_path, plate,
                                                                               grace_hopper_path, capsys):
    out = tmp_path / "o.mov"
    shot = FaceShot("sh020", Plate(str(plate)), Donor(str(grace_hopper_path)), DocumentRef(id="urn:uuid:1"),
                    DocumentRef(str(studio.release)), Usage("PRJ-0001", "douyin", "CN", date.today()),
                    Output(str(out)))
    (tmp_path / "shot.json").write_text(shot.dumps())
    code = main(["swap", "--shot", str(tmp_path / "shot.json"), "--no-progress"])
    _refused(code, capsys.readouterr().err, out, "license.store_missing")


def test_a_bad_shot_file_names_the_member(tmp_path, studio_labels, capsys):
    (tmp_path / "shot.json").write_text('{"schema": "FaceShot.1", "shot_id": "x", "plate": {"path": "p.mov", '
                                        '"frames": {"first": "1001", "last": 1048}}}')
    assert main(["swap", "--shot", str(tmp_path / "shot.json")]) == 2
    assert "plate.frames.first: must be a whole number" in capsys.readouterr().err


@pytest.fixture(scope="module")
def stranger(tmp_path_factory, analyser, t1_path) -> Path:
    """One face of insightface's group photo, cropped: someone who is not on the plate."""
    image = cv2.imread(str(t1_path))
    face = max(analyser.faces(image), key=lambda f: f.area)
    x1, y1, x2, y2 = (int(v) for v in face.box)
    pad = (x2 - x1) // 2
    path = tmp_path_factory.mktemp("stranger") / "stranger.png"
    cv2.imwrite(str(path), image[max(0, y1 - pad):y2 + pad, max(0, x1 - pad):x2 + pad])
    return path


def test_a_target_that_matches_nobody_refuses_the_shot_and_writes_nothing(studio, tmp_path, plate,
                                                                         grace_hopper_path, stranger, capsys):
    out = tmp_path / "o.mov"
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out),
                "--target", str(stranger))
    err = capsys.readouterr().err
    _refused(code, err, out, "release.plate_face_missing")
    assert "matches the reference image" in err and "--allow-no-faces" in err
    assert _leftovers(tmp_path) == []


def test_allow_no_faces_passes_an_unmatched_plate_through_for_a_batch(studio, tmp_path, plate, analyser,
                                                                      grace_hopper_path, stranger, capsys):
    out = tmp_path / "o.mov"
    results = tmp_path / "done.json"
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out),
                "--target", str(stranger), "--allow-no-faces", "--results", str(results))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "warning release.plate_face_missing" in captured.err and "passes through unchanged" in captured.err
    assert "0 face(s) swapped in 0/24 frames" in captured.out
    done = FaceShot.load(results)
    assert done.plate_face.when_none == "pass_through"
    assert any(v.code == "release.plate_face_missing" and v.severity == "warning" for v in done.results.verdicts)
    source, written = _frames(plate), _frames(out)
    assert len(written) == len(source)
    # untouched apart from the codec: the face changed no more than the rest of the picture
    x1, y1, x2, y2 = (int(v) for v in max(analyser.faces(source[0]), key=lambda f: f.area).box)
    for a, b in zip(source, written):
        change = np.abs(a.astype(int) - b.astype(int))
        assert change[y1:y2, x1:x2].mean() < 1.5 * change.mean() + 1.0
    assert tag(readback(out)["format"], "AIGC") is not None and "label: proven in the file" in captured.out


def test_providers_this_machine_lacks_are_refused_before_anything_is_written(studio, tmp_path, plate,
                                                                           grace_hopper_path, capsys):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has CUDA: the refusal is for machines without it")
    out = tmp_path / "o.mov"
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out),
                "--providers", "CUDAExecutionProvider")
    err = capsys.readouterr().err
    assert code == 2, err
    assert "CUDAExecutionProvider" in err and "faceright[gpu]" in err and "CPUExecutionProvider" in err
    assert not out.exists() and _leftovers(tmp_path) == []


def test_an_output_whose_label_cannot_be_proven_never_takes_its_name(studio, studio_labels, tmp_path, plate,
                                                                      grace_hopper_path, capsys):
    """The label is proven on the staged file before the rename: here the deliverable's visible label
    cannot be read (no OCR models), so the new file is dropped and the earlier output stays as it was."""
    out = tmp_path / "deliverable.mp4"
    assert swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out),
                "--frames", "0-3") == 0
    before = _digest(out)
    capsys.readouterr()
    empty = tmp_path / "no-ocr"
    empty.mkdir()
    config = studio_labels / "config.toml"
    config.write_text(config.read_text().replace("[labels]\n", f'[labels]\nocr_models = "{empty}"\n', 1))
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(out),
                "--frames", "0-3", "--deliverable", "--overwrite")
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert "label: NOT proven" in captured.out and "visible.ocr_unavailable" in captured.out
    assert f"{out}: not written" in captured.err
    assert ".partial" not in captured.out + captured.err          # the report names the output, not the staged file
    assert _digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_10_bit_prores_plate_written_as_h264_says_what_it_loses(studio, tmp_path, astronaut, grace_hopper_path,
                                                                   capsys, plate):
    """Until the pipeline keeps a plate's own precision, a mezzanine plate's swap names each loss."""
    from readback import readback, streams_of

    prores = make_clip(tmp_path / "plate.mov", astronaut, frames=6, motion="pan", codec="prores_ks",
                       pix_fmt="yuv422p10le", codec_options={"profile": "3"}, audio=False)
    (video,) = streams_of(readback(prores), "video")
    assert video["codec_name"] == "prores" and video["pix_fmt"] == "yuv422p10le"   # as ffprobe reads the plate
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(prores), "--out", str(tmp_path / "o.mp4"),
                "--results", str(tmp_path / "shot.json"), "--codec", "h264")   # asked for: 8-bit 4:2:0 H.264
    err = capsys.readouterr().err
    assert code == 0, err
    assert "warning media.downgraded" in err
    for loss in ("10-bit → 8-bit", "4:2:2 → 4:2:0 chroma", "intra-frame prores → long-GOP libx264"):
        assert loss in err, err
    verdicts = json.loads((tmp_path / "shot.json").read_text())["results"]["verdicts"]
    assert [v["severity"] for v in verdicts if v["code"] == "media.downgraded"] == ["warning"]
    # an 8-bit 4:2:0 H.264 plate loses nothing: no warning
    assert swap(studio, "--donor", str(grace_hopper_path), "--plate", str(plate), "--out", str(tmp_path / "p.mp4"),
                "--frames", "0-1") == 0
    assert "media.downgraded" not in capsys.readouterr().err


def test_an_exr_plate_is_swapped_without_losing_its_float_pixels_outside_the_face(studio, tmp_path, astronaut,
                                                                                 grace_hopper_path, capsys):
    oiio = pytest.importorskip("OpenImageIO", reason="EXR and DPX plates need the exr extra (openimageio), part of faceright[test]")
    from clips import make_sequence
    from faceright.images import srgb_decode

    make_sequence(tmp_path / "src.%04d.png", astronaut, frames=2, first=1001, size=(320, 240))
    for number in (1001, 1002):
        bgr = cv2.imread(str(tmp_path / f"src.{number}.png"))
        linear = srgb_decode(bgr[:, :, ::-1] / 255.0) * 0.98 + 0.001   # values 8-bit sRGB cannot hold
        linear[:12, :20] = 5.0                                          # a light far from the face
        pixels = np.dstack([linear, np.full(linear.shape[:2], 0.75, np.float32)]).astype(np.float32)
        spec = oiio.ImageSpec(320, 240, 4, "half")
        spec.channelnames = ("R", "G", "B", "A")
        spec.attribute("compression", "piz")
        spec.attribute("studio:plate", "A001C003")
        out = oiio.ImageOutput.create(str(tmp_path / f"plate.{number}.exr"))
        assert out.open(str(tmp_path / f"plate.{number}.exr"), spec) and out.write_image(pixels)
        out.close()
    (tmp_path / "out").mkdir()
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(tmp_path / "plate.%04d.exr"),
                "--out", str(tmp_path / "out" / "shot.####.exr"))
    err = capsys.readouterr().err
    assert code == 0, err
    assert "media.downgraded" not in err                       # nothing is lost: nothing to warn about
    for number in (1001, 1002):
        plate, out = (oiio.ImageBuf(str(p)) for p in (tmp_path / f"plate.{number}.exr",
                                                       tmp_path / "out" / f"shot.{number}.exr"))
        assert str(out.spec().format) == "half" and out.spec().getattribute("compression") == "piz"
        assert out.spec().getattribute("studio:plate") == "A001C003"
        assert TEST_PROVIDER_CODE in out.spec().getattribute("AIGC")
        a, b = plate.get_pixels(oiio.FLOAT), out.get_pixels(oiio.FLOAT)
        changed = (a != b).any(axis=2)
        assert 0.01 < changed.mean() < 0.5                     # the face, and only around it
        assert not changed[:, :40].any() and not changed[:12].any()   # the frame's edges are the plate's, bit for bit
        assert (b[:12, :20, :3] == 5.0).all() and (b[:, :, 3] == 0.75).all()
    # the same plate written as 8-bit PNG loses its precision over the whole frame, and says so
    (tmp_path / "png").mkdir()
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(tmp_path / "plate.%04d.exr"),
                "--out", str(tmp_path / "png" / "shot.####.png"), "--frames", "1001-1001")
    err = capsys.readouterr().err
    assert code == 0, err
    assert "warning media.downgraded" in err and "16-bit EXR → 8-bit" in err, err


def test_a_10_bit_dpx_plate_is_swapped_keeping_its_code_values_and_its_label_proven(studio, tmp_path, astronaut,
                                                                                   grace_hopper_path, capsys):
    oiio = pytest.importorskip("OpenImageIO", reason="EXR and DPX plates need the exr extra (openimageio), part of faceright[test]")
    from clips import make_sequence
    from faceright.labels.metadata import read_metadata

    make_sequence(tmp_path / "src.%04d.png", astronaut, frames=1, first=1001, size=(320, 240))
    bgr = cv2.imread(str(tmp_path / "src.1001.png")).astype(np.int64)
    codes = bgr[:, :, ::-1] * 4 + (np.indices(bgr.shape[:2]).sum(axis=0) % 4)[:, :, None]   # 10-bit detail
    spec = oiio.ImageSpec(320, 240, 3, "uint16")
    spec.attribute("oiio:BitsPerSample", 10)
    spec.attribute("dpx:Transfer", "Logarithmic")
    out = oiio.ImageOutput.create(str(tmp_path / "plate.1001.dpx"))
    assert out.open(str(tmp_path / "plate.1001.dpx"), spec)
    assert out.write_image((codes * 65535 // 1023).astype(np.uint16))
    out.close()
    (tmp_path / "out").mkdir()
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(tmp_path / "plate.%04d.dpx"),
                "--out", str(tmp_path / "out" / "shot.####.dpx"))
    err = capsys.readouterr().err
    assert code == 0, err
    assert "media.downgraded" not in err
    written = tmp_path / "out" / "shot.1001.dpx"
    result = oiio.ImageBuf(str(written))
    assert result.spec().get_int_attribute("oiio:BitsPerSample") == 10
    assert result.spec().getattribute("dpx:Transfer") == "Logarithmic"
    back = (result.get_pixels(oiio.UINT16).astype(np.int64) * 1023 + 32767) // 65535
    changed = (back != codes).any(axis=2)
    assert 0.01 < changed.mean() < 0.5 and not changed[:, :40].any()   # the face, and only around it
    (label,) = read_metadata(written).occurrences                        # the DPX's user data
    assert TEST_PROVIDER_CODE in label.value
    assert main(["label", "verify", str(written)]) == 0, capsys.readouterr()


@pytest.mark.parametrize("plate_format, out_name, wanted", [
    (("prores_ks", "yuv422p10le", {"profile": "3"}), "o.mov", ("prores", "yuv422p10le", "HQ")),
    (("prores_ks", "yuv444p10le", {"profile": "4"}), "o.mkv", ("prores", "yuv444p10le", "4444")),
    (("dnxhd", "yuv422p10le", {"profile": "dnxhr_hqx"}), "o.mov", ("dnxhd", "yuv422p10le", "DNXHR HQX")),
])
def test_a_mezzanine_plate_comes_out_in_its_own_codec_family_depth_and_chroma(studio, tmp_path, astronaut,
                                                                             grace_hopper_path, capsys,
                                                                             plate_format, out_name, wanted):
    from readback import readback, streams_of

    codec, pix_fmt, options = plate_format
    source = make_clip(tmp_path / "plate.mov", astronaut, frames=4, motion="pan", codec=codec, pix_fmt=pix_fmt,
                       codec_options=options, audio=False, size=(256, 144), fine_detail=True)
    out = tmp_path / out_name
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(source), "--out", str(out))
    err = capsys.readouterr().err
    assert code == 0, err
    (video,) = streams_of(readback(out), "video")                  # as ffprobe reads the output
    (plate_video,) = streams_of(readback(source), "video")
    assert (video["codec_name"], video.get("profile")) == wanted[::2]
    assert video["pix_fmt"] == plate_video["pix_fmt"]               # depth and chroma as ffprobe reads the plate's
    # the plate's own samples outside the face; ffmpeg decodes ProRes 4444 as 12-bit, prores_ks writes 10
    assert "→ 8-bit" not in err and ("media.downgraded" not in err or "(12-bit → 10-bit)" in err), err
    ten_bit = video["pix_fmt"].replace("p12", "p10")                  # compared in 10-bit codes
    plate_y, out_y = (_luma_10_bit(path, ten_bit, 256, 144) for path in (source, out))
    edge = np.s_[:, :40]                                            # the pan's left strip, far from the face
    assert np.abs(plate_y[edge] - out_y[edge]).mean() < 1.5         # the codec's own loss (an 8-bit copy: 4.3)


def _luma_10_bit(path, pix_fmt, width, height):
    """The first frame's 10-bit luma as ffmpeg decodes it (an independent reader)."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", pix_fmt, "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint16)[:width * height].reshape(height, width).astype(np.int32)


def test_codec_chooses_and_mp4_keeps_h264_saying_why(studio, tmp_path, astronaut, grace_hopper_path, capsys):
    from readback import readback, streams_of

    source = make_clip(tmp_path / "plate.mov", astronaut, frames=3, motion="pan", codec="prores_ks",
                       pix_fmt="yuv422p10le", codec_options={"profile": "3"}, audio=False, size=(256, 144))
    assert swap(studio, "--donor", str(grace_hopper_path), "--plate", str(source), "--out", str(tmp_path / "o.mp4")) == 0
    err = capsys.readouterr().err
    assert ".mp4 cannot hold prores_ks video" in err and ".mov" in err
    assert streams_of(readback(tmp_path / "o.mp4"), "video")[0]["codec_name"] == "h264"
    assert swap(studio, "--donor", str(grace_hopper_path), "--plate", str(source), "--out", str(tmp_path / "d.mov"),
                "--codec", "dnxhr-hq") == 0
    (video,) = streams_of(readback(tmp_path / "d.mov"), "video")
    assert (video["codec_name"], video["pix_fmt"]) == ("dnxhd", "yuv422p")
    code = swap(studio, "--donor", str(grace_hopper_path), "--plate", str(source), "--out", str(tmp_path / "p.mp4"),
                "--codec", "prores")
    err = capsys.readouterr().err
    assert code == 2 and "--codec prores cannot be written into .mp4" in err and not (tmp_path / "p.mp4").exists()
