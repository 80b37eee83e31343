"""`label verify` on real encoded clips: every way a visible label can fail is found and named.

Each clip is 3 s of 480×270 H.264 made from the astronaut still; OCR reads the decoded frames.
"""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from faceright.cli.main import main
from faceright.errors import DependencyMissingError
from faceright.labels.aigc import label_signer
from faceright.labels.apply import apply_labels
from faceright.labels.verify import sample_indices, verify_file
from label_support import PROVIDER, burner, codes, errors, host_text, write_clip

pytest_plugins = ("label_fixtures",)   # keys, settings, ocr, still, plate


def _deliverable(path, settings, ocr):
    return verify_file(path, settings, target="deliverable", ocr=ocr)


def test_a_labelled_deliverable_is_proven_with_evidence_from_file_and_pixels(plate, settings, ocr, tmp_path):
    result = apply_labels(plate, tmp_path / "deliverable.mp4", settings, visible=True, ocr=ocr)
    report = result.report
    assert report.proven, report.findings
    assert {"aigc.present", "aigc.signature_valid", "visible.present"} <= codes(report.findings)
    visible = report.evidence["visible"]
    assert [s["frame"] for s in visible["samples"]] == [0, 12, 24, 36, 47]      # 0 .. 2 s − 1 frame
    assert all(s["label"] == "AI生成" for s in visible["samples"])
    assert visible["label"]["height_ratio"] >= 0.05
    x1, y1, x2, y2 = visible["label"]["box"]
    assert x2 > 480 * 0.8 and y2 > 270 * 0.8                                    # bottom-right


def test_an_unlabelled_plate_fails_both_labels(plate, settings, ocr):
    report = _deliverable(plate, settings, ocr)
    assert not report.proven
    assert {"aigc.absent", "visible.absent"} <= errors(report.findings)


def test_a_shot_output_needs_only_the_metadata(plate, settings, ocr, tmp_path):
    shot = apply_labels(plate, tmp_path / "shot.mp4", settings, ocr=ocr).path
    assert verify_file(shot, settings, target="shot", ocr=ocr).proven
    report = _deliverable(shot, settings, ocr)
    assert errors(report.findings) == {"visible.absent"}


def test_a_label_too_small_is_named(still, settings, ocr, tmp_path):
    clip = write_clip(tmp_path / "small.mp4", still, burner(settings, height_ratio=0.03, min_height_ratio=0.01),
                      label=label_signer(settings))
    report = _deliverable(clip, settings, ocr)
    assert errors(report.findings) == {"visible.too_small"}
    assert report.evidence["visible"]["label"]["height_ratio"] < 0.05


def test_a_label_gone_before_two_seconds_is_too_short(still, settings, ocr, tmp_path):
    clip = write_clip(tmp_path / "short.mp4", still, burner(settings, duration_s=1.0, min_duration_s=1.0),
                      label=label_signer(settings))
    report = _deliverable(clip, settings, ocr)
    assert errors(report.findings) == {"visible.too_short"}
    assert next(f for f in report.findings if f.code == "visible.too_short").detail["missing_frames"][0] == 24


def test_a_clip_shorter_than_two_seconds_cannot_carry_the_label_long_enough(still, settings, ocr, tmp_path):
    clip = write_clip(tmp_path / "brief.mp4", still, burner(settings), frames=30, label=label_signer(settings))
    assert errors(_deliverable(clip, settings, ocr).findings) == {"visible.too_short"}


def test_a_label_that_starts_late_is_named(still, settings, ocr, tmp_path):
    label = burner(settings)
    clip = write_clip(tmp_path / "late.mp4", still, lambda f, i: label(f, i) if i >= 12 else f,
                      label=label_signer(settings))
    assert errors(_deliverable(clip, settings, ocr).findings) == {"visible.late_start"}


def test_a_label_in_the_middle_of_the_frame_is_in_the_wrong_place(still, settings, ocr, tmp_path):
    from faceright.labels.visible import VisibleLabel

    # our renderer's sprite, pasted in the centre instead of at an edge
    label = VisibleLabel.from_settings(settings)

    def middle(frame, index):
        sprite = label.sprite(480, 270)
        h, w = sprite.alpha.shape[:2]
        x, y = (480 - w) // 2, (270 - h) // 2
        roi = frame[y:y + h, x:x + w].astype(float)
        frame = frame.copy()
        frame[y:y + h, x:x + w] = (roi * (1 - sprite.alpha) + sprite.color * sprite.alpha).round().astype("uint8")
        return frame

    clip = write_clip(tmp_path / "middle.mp4", still, middle, label=label_signer(settings))
    assert errors(_deliverable(clip, settings, ocr).findings) == {"visible.wrong_place"}


def test_text_without_the_required_words_is_wrong_wording(still, settings, ocr, tmp_path):
    clip = write_clip(tmp_path / "wording.mp4", still, burner(settings, wording="AI"), label=label_signer(settings))
    report = _deliverable(clip, settings, ocr)
    assert errors(report.findings) == {"visible.wording"}


def test_a_label_a_host_drew_in_another_font_is_recognised(still, settings, ocr, tmp_path):
    # Hershey font, yellow on a dark box, top-left: nothing of faceright's renderer
    host = host_text("AI GENERATED", at=(14, 34), scale=0.75)
    clip = write_clip(tmp_path / "host.mp4", still, host, label=label_signer(settings))
    english = replace(settings, required_generated="生成|合成|GENERATED")
    report = _deliverable(clip, english, ocr)
    assert report.proven, report.findings
    assert report.evidence["visible"]["label"]["text"].replace(" ", "").upper() == "AIGENERATED"
    # under the default (Chinese) wording rule the same label is named, not passed
    assert errors(_deliverable(clip, settings, ocr).findings) == {"visible.wording"}


def test_without_ocr_models_verify_says_it_cannot_check_the_visible_label(plate, settings, ocr, tmp_path):
    empty = tmp_path / "no-models"
    empty.mkdir()
    report = verify_file(plate, replace(settings, ocr_models=empty), target="deliverable")
    assert errors(report.findings) == {"aigc.absent", "visible.ocr_unavailable"}    # the plate has no label
    finding = next(f for f in report.findings if f.code == "visible.ocr_unavailable")
    assert f"{empty / 'ch_PP-OCRv4_det_infer.onnx'} is missing" in finding.message
    assert "visible" not in report.evidence                                        # nothing was read
    assert not report.proven
    # a deliverable that does carry both labels is still not proven: the visible one cannot be checked
    labelled = apply_labels(plate, tmp_path / "deliverable.mp4", settings, visible=True, ocr=ocr).path
    report = verify_file(labelled, replace(settings, ocr_models=empty), target="deliverable")
    assert errors(report.findings) == {"visible.ocr_unavailable"}
    assert {"aigc.present", "aigc.signature_valid"} <= codes(report.findings)      # the metadata is proven
    assert not report.proven


def test_ocr_samples_the_first_two_seconds_sparsely():
    from faceright.labels.policy import LabelSettings

    assert sample_indices(72, 24, LabelSettings()) == [0, 12, 24, 36, 47]
    assert sample_indices(300, 30000 / 1001, LabelSettings()) == [0, 15, 30, 45, 59]
    assert sample_indices(30, 24, LabelSettings()) == [0, 12, 24, 29]


def test_c2pa_without_c2pa_python_is_a_dependency_error(plate, settings, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "c2pa", None)         # as if the extra were not installed
    with pytest.raises(DependencyMissingError, match=r"faceright\[c2pa\]"):
        apply_labels(plate, tmp_path / "signed.mp4", settings, c2pa=True)
    assert not (tmp_path / "signed.mp4").exists()


# -- the command line ---------------------------------------------------------------------------

@pytest.fixture
def config(tmp_path, keys, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text(f'[labels]\nprovider_code = "{PROVIDER}"\nsigning_key = "{keys[0]}"\npublic_key = "{keys[1]}"\n')
    monkeypatch.setenv("FACERIGHT_CONFIG", str(path))
    return path


def test_cli_apply_then_verify_exits_zero_and_prints_json_evidence(plate, config, tmp_path, capsys):
    out = tmp_path / "deliverable.mov"
    assert main(["label", "apply", str(plate), "--out", str(out), "--visible"]) == 0
    assert "PROVEN" in capsys.readouterr().out
    assert main(["label", "verify", str(out), "--deliverable", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["proven"] is True and report["required"] == ["metadata", "visible"]
    assert {f["code"] for f in report["findings"]} >= {"aigc.present", "aigc.signature_valid", "visible.present"}
    assert all(set(f) >= {"code", "severity", "message"} for f in report["findings"])
    assert report["evidence"]["metadata"]["occurrences"][0]["key"] == "AIGC"


def test_cli_verify_exits_one_and_names_what_is_missing(plate, config, capsys):
    assert main(["label", "verify", str(plate)]) == 1
    assert "aigc.absent" in capsys.readouterr().out


def test_cli_without_a_public_key_reports_the_signature_unchecked_and_blocks(plate, keys, tmp_path, monkeypatch,
                                                                             capsys):
    solo = tmp_path / "solo.pem"                  # a private key with no public key beside it
    solo.write_bytes(keys[0].read_bytes())
    path = tmp_path / "signing-only.toml"
    path.write_text(f'[labels]\nprovider_code = "{PROVIDER}"\nsigning_key = "{solo}"\n')
    monkeypatch.setenv("FACERIGHT_CONFIG", str(path))
    shot = tmp_path / "shot.mp4"
    assert main(["label", "apply", str(plate), "--out", str(shot)]) == 1      # written, but not proven
    assert "aigc.signature_unchecked" in capsys.readouterr().out
    code = main(["label", "verify", str(shot), "--json"])
    findings = {f["code"]: f["severity"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert findings["aigc.signature_unchecked"] == "error" and "aigc.signature_valid" not in findings
    assert code == 1          # a signature nobody checked proves nothing
    assert main(["label", "verify", str(shot), "--pubkey", str(keys[1])]) == 0
    assert "aigc.signature_valid" in capsys.readouterr().out
    path.write_text(path.read_text() + 'warn_only = ["aigc.signature_unchecked"]\n')
    assert main(["label", "verify", str(shot)]) == 0
    assert "lowered from a block to a warning by the [labels] warn_only policy" in capsys.readouterr().out


def test_cli_refuses_to_write_over_its_input(plate, config, capsys):
    assert main(["label", "apply", str(plate), "--out", str(plate)]) != 0
    assert "source" in capsys.readouterr().err


def test_cli_keygen_writes_a_key_pair_and_refuses_to_overwrite_it(tmp_path, capsys):
    key = tmp_path / "studio.pem"
    assert main(["label", "keygen", "--out", str(key)]) == 0
    assert key.exists() and (tmp_path / "studio.pub.pem").exists()
    assert main(["label", "keygen", "--out", str(key)]) == 2
    assert "never overwrites" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".mkv", ".mp4", ".mov"])
def test_a_two_second_deliverable_lasts_two_seconds_in_every_container(suffix, still, settings, ocr, tmp_path):
    """Matroska declares no frame count: verify counts the frames' packets, B-frames' too (they carry no DTS)."""
    clip = write_clip(tmp_path / f"two{suffix}", still, burner(settings), frames=48, label=label_signer(settings))
    report = _deliverable(clip, settings, ocr)
    assert not errors(report.findings), report.findings
    assert "visible.present" in codes(report.findings)
