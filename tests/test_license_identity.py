"""The identity check's decision logic, with a stub recogniser: same model id required, similarity >= threshold.

The same checks with the real shipped SFace model on real faces are in test_license_identity_engine.py.
"""
from __future__ import annotations

import base64
import hashlib

import numpy as np
import pytest

from faceright.errors import FaceRightError
from faceright.licenses import identity
from faceright.licenses.document import LikenessReference, convert
from faceright.licenses.identity import FaceEvidence, check_identity, check_image, make_reference
from test_license_support import (
    NO_FACE, PERSON_A, PERSON_A_AGAIN, PERSON_B, SEVERAL_FACES, STUB_MODEL, StubEmbedder, face_image, stub_reference,
    stub_vectors, unit, write_face,
)

pytestmark = pytest.mark.hostside

VECTORS = stub_vectors()


def reference(tag: int = PERSON_A, threshold: float = 0.6) -> LikenessReference:
    return convert(LikenessReference, stub_reference(tag, threshold), "likeness")


def evidence(vector, model_id: str = STUB_MODEL) -> FaceEvidence:
    return FaceEvidence(np.asarray(vector, dtype=np.float32), model_id, "donor.png")


def test_the_stub_people_are_what_the_tests_assume():
    from faceright.engine.types import cosine

    assert cosine(VECTORS[PERSON_A], VECTORS[PERSON_A_AGAIN]) > 0.9
    assert abs(cosine(VECTORS[PERSON_A], VECTORS[PERSON_B])) < 0.3


def test_the_same_person_in_another_photo_matches():
    found = check_identity(reference(), evidence(VECTORS[PERSON_A_AGAIN]))
    assert [(f.code, f.severity) for f in found] == [("license.identity_match", "info")]
    assert found[0].detail["similarity"] > 0.9


def test_another_person_is_an_identity_mismatch():
    found = check_identity(reference(), evidence(VECTORS[PERSON_B]))
    assert [(f.code, f.severity) for f in found] == [("license.identity_mismatch", "error")]
    assert "below the threshold 0.600" in found[0].message


def test_the_threshold_separates_match_from_mismatch():
    ref = reference(threshold=0.8)
    assert check_identity(ref, evidence(_at_similarity(0.801)))[0].code == "license.identity_match"
    assert check_identity(ref, evidence(_at_similarity(0.79)))[0].code == "license.identity_mismatch"


def test_a_different_model_id_is_a_finding_never_a_silent_pass():
    # even the very same vector does not pass when another model made it
    found = check_identity(reference(), evidence(VECTORS[PERSON_A], model_id="arcface-r100@v2"))
    assert [(f.code, f.severity) for f in found] == [("license.identity_model_mismatch", "error")]
    assert "stub-recogniser@1" in found[0].message and "arcface-r100@v2" in found[0].message


def test_a_vector_of_another_size_is_a_model_mismatch_not_a_crash():
    found = check_identity(reference(), evidence(unit(np.ones(512))))
    assert [f.code for f in found] == ["license.identity_model_mismatch"]


def _at_similarity(cos: float) -> np.ndarray:
    a, b = VECTORS[PERSON_A], VECTORS[PERSON_B]
    orth = unit(b - np.dot(b, a) * a)  # orthogonal to a, so cos(a, face) is exactly what we choose
    return unit(cos * a + np.sqrt(1 - cos**2) * orth)


def test_the_tds_floor_raises_a_lax_license_threshold():
    lax = reference(threshold=0.1)
    face = evidence(_at_similarity(0.3))
    assert check_identity(lax, face)[0].code == "license.identity_match"
    found = check_identity(lax, face, min_threshold=0.5)
    assert found[0].code == "license.identity_mismatch" and found[0].detail["threshold"] == 0.5


@pytest.mark.parametrize("tag, code, words", [
    (NO_FACE, "license.identity_no_face", "no face was found"),
    (SEVERAL_FACES, "license.identity_several_faces", "shows several faces"),
])
def test_a_donor_image_with_no_face_or_several_faces_is_a_blocking_finding(tag, code, words):
    found = check_image(reference(), face_image(tag), StubEmbedder(), source="donor.png")
    assert [(f.code, f.severity) for f in found] == [(code, "error")]
    assert words in found[0].message


def test_other_engine_errors_are_not_swallowed():
    class Broken(StubEmbedder):
        def embed_one(self, image, *, what):
            raise FaceRightError("the recogniser model file is damaged")

    with pytest.raises(FaceRightError, match="damaged"):
        check_image(reference(), face_image(PERSON_A), Broken(), source="donor.png")


def test_a_reference_is_the_normalised_mean_and_records_image_hashes(tmp_path):
    paths = [write_face(tmp_path / "a.png", PERSON_A), write_face(tmp_path / "b.png", PERSON_A_AGAIN)]
    files = [identity.read_image(p) for p in paths]
    block = make_reference(files, StubEmbedder(), threshold=0.6)
    assert block["model_id"] == STUB_MODEL and block["dim"] == 128 and block["threshold"] == 0.6
    assert [i["sha256"] for i in block["images"]] == [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    vec = np.frombuffer(base64.b64decode(block["embedding"]), "<f4")
    expected = unit(VECTORS[PERSON_A] + VECTORS[PERSON_A_AGAIN])
    assert np.allclose(vec, expected, atol=1e-6)
    assert convert(LikenessReference, block, "likeness").vector.shape == (128,)


def test_reference_images_of_two_people_are_refused(tmp_path):
    files = [identity.read_image(write_face(tmp_path / f"{t}.png", t)) for t in (PERSON_A, PERSON_B)]
    with pytest.raises(identity.ReferenceImagesError, match="do not show the same person"):
        make_reference(files, StubEmbedder(), threshold=0.6)


@pytest.mark.parametrize("tag, words", [(NO_FACE, "no face"), (SEVERAL_FACES, "3 faces")])
def test_a_reference_image_without_exactly_one_face_is_refused(tmp_path, tag, words):
    files = [identity.read_image(write_face(tmp_path / "ref.png", tag))]
    with pytest.raises(identity.ReferenceImagesError, match=words):
        make_reference(files, StubEmbedder(), threshold=0.6)


def test_an_unreadable_image_is_a_clear_media_error(tmp_path):
    from faceright.errors import MediaError

    path = tmp_path / "not-an-image.png"
    path.write_bytes(b"GIF89a but not really")
    with pytest.raises(MediaError, match="is not a PNG image"):
        identity.read_image(path)
    with pytest.raises(MediaError, match="missing.png does not exist"):
        identity.read_image(tmp_path / "missing.png")
