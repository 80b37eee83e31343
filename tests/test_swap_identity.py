"""Acceptance: the weight-free classic swap really moves identity, and a recolour or blur does not.

Judged by the shipped SFace recogniser on the face re-detected in the output, through the
product's default analyser as a fresh machine has it (``Runtime(EngineSettings(models_dir=…))
.analyser()``: the shipped YuNet finding faces at 640 and refining their landmarks at each
image's own resolution, and SFace); see tests/swap_identity.py. Faces: every face of
insightface's t1.jpg (6), scikit-image's astronaut.png and matplotlib's grace_hopper.jpg; the
frontal ones are those the classic swapper accepts (|yaw| ≤ 40°), which leaves out t1's one
face turned about 58° away. Pairs: every ordered (donor, target) pair of distinct frontal
faces, 7 · 6 = 42.

A pair passes when the output face is at least 0.40 similar to the donor, at least 0.25 more
than the plate face was, and closer to the donor than to the plate face. Measured when written
(``python tests/swap_identity.py`` prints the table): the classic swap passes 42/42 (100 %),
mean similarity to the donor 0.607, mean gain +0.511 (min +0.288, max +0.683); the recolour
control 0/42 (mean gain −0.007), the blur control 0/42 (mean gain −0.011). Without landmark
refinement (``--no-refine``) the same harness gives 38/42 (90 %), mean gain +0.453: the four
pairs with t1#4 as donor fail (gain +0.11 to +0.14).
"""
from __future__ import annotations

import logging

import numpy as np
import pytest

from faceright.engine.analysis import FaceAnalyser
from faceright.engine.detect import YuNet
from faceright.engine.recognise import SFace
from faceright.engine.swap import ClassicSwapper, TurnedFaceError, paste_back
from faceright.engine.types import Donor

from swap_identity import classic_swap, control_swap, product_analyser, run_pairs, subjects, summary

PASS_RATE = 0.90


@pytest.fixture(scope="module")
def analysis(tmp_path_factory) -> FaceAnalyser:
    return product_analyser(tmp_path_factory.mktemp("models"))


def test_the_measurement_uses_the_product_default_analyser(analysis):
    assert isinstance(analysis.detector, YuNet) and isinstance(analysis.recogniser, SFace)
    assert analysis.detector.input_size == (640, 640) and analysis.refiner is not None


@pytest.fixture(scope="module")
def swapper() -> ClassicSwapper:
    return ClassicSwapper()


@pytest.fixture(scope="module")
def everyone(analysis, t1, astronaut, grace_hopper):
    return subjects(analysis, {"t1": t1, "astronaut": astronaut, "grace_hopper": grace_hopper})


@pytest.fixture(scope="module")
def frontal(everyone, swapper):
    return [s for s in everyone if swapper.refusal(s.face) is None]


@pytest.fixture(scope="module")
def turned(everyone, swapper):
    return [s for s in everyone if swapper.refusal(s.face) is not None]


def test_the_package_images_hold_eight_faces_of_which_one_is_turned_too_far(everyone, frontal, turned, swapper):
    assert len(everyone) == 8
    assert len(frontal) == 7
    assert [s.name.split("#")[0] for s in turned] == ["t1"]
    (face,) = turned
    x1, y1, x2, y2 = face.face.box
    assert x1 > 850 and y2 < 250, "the turned face is the man at the top right of t1.jpg"
    assert "yaw" in swapper.refusal(face.face)


def test_a_turned_target_is_passed_through_untouched(turned, frontal, swapper, caplog):
    (target,) = turned
    donor = next(s for s in frontal if s.name == "astronaut")
    prepared = swapper.prepare(Donor(donor.image, donor.face))
    with caplog.at_level(logging.INFO, logger="faceright.engine.swap.classic"):
        patches = swapper.patches(target.image, [target.face], prepared)
    assert patches == []
    assert "turned too far" in caplog.text and "yaw" in caplog.text
    assert np.array_equal(paste_back(target.image, patches), target.image)


def test_a_turned_donor_is_refused_at_prepare(turned, swapper):
    (donor,) = turned
    with pytest.raises(TurnedFaceError, match=r"donor face is turned too far.*yaw \d+° > 40°"):
        swapper.prepare(Donor(donor.image, donor.face))


def test_the_classic_swap_moves_identity_in_nine_of_ten_pairs(analysis, frontal, swapper, record_property):
    verdicts = run_pairs(analysis, frontal, classic_swap(swapper))
    table = "\n".join(v.row() for v in verdicts) + "\n" + summary(verdicts)
    record_property("classic_swap_identity", table)
    assert len(verdicts) == 42
    assert all(v.redetected for v in verdicts), table
    rate = sum(v.passed for v in verdicts) / len(verdicts)
    assert rate >= PASS_RATE, table
    assert np.mean([v.gain for v in verdicts]) >= 0.35, table  # "about +0.4 on average when tried"


@pytest.mark.parametrize("control", ["recolour", "blur"])
def test_a_control_that_only_recolours_or_blurs_the_face_passes_no_pair(analysis, frontal, control, record_property):
    verdicts = run_pairs(analysis, frontal, control_swap(control), donor_blind=control == "blur")
    table = "\n".join(v.row() for v in verdicts) + "\n" + summary(verdicts)
    record_property(f"{control}_control_identity", table)
    assert len(verdicts) == 42 and all(v.redetected for v in verdicts), table
    assert not any(v.passed for v in verdicts), table
    assert np.mean([v.gain for v in verdicts]) < 0.05, table
