"""The identity check with the real engine: the shipped YuNet + SFace models on real photographs.

A license whose likeness reference was made from astronaut.png covers a flipped or darkened
astronaut, and gives `identity mismatch` for Grace Hopper; t1.jpg (6 faces) as the donor is a
clear several-faces finding. One test runs the CLI unpatched, so `faceright license issue
--reference-image` and `verify --donor` go through the engine as a user's would.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta, timezone

import cv2
import numpy as np
import pytest

from faceright.cli.main import main
from faceright.engine.runtime import Runtime
from faceright.engine.settings import EngineSettings
from faceright.licenses import identity, signing
from faceright.licenses.document import LikenessReference, convert
from faceright.licenses.identity import AnalyserEmbedder, check_image, make_reference
from test_license_support import Keys, cache_list, make_body

pytest.importorskip("onnxruntime", reason="the engine needs onnxruntime (faceright[cpu] or [gpu])")


@pytest.fixture(scope="module")
def embedder(tmp_path_factory) -> AnalyserEmbedder:
    settings = EngineSettings(models_dir=tmp_path_factory.mktemp("models"), providers=("CPUExecutionProvider",))
    with Runtime(settings) as runtime:
        yield AnalyserEmbedder(runtime.analyser())


@pytest.fixture(scope="module")
def astronaut_reference(embedder, astronaut_path) -> LikenessReference:
    block = make_reference([identity.read_image(astronaut_path)], embedder, threshold=0.5)
    return convert(LikenessReference, block, "likeness")


def test_the_reference_names_the_shipped_sface_model(embedder, astronaut_reference, astronaut_path):
    assert astronaut_reference.model_id == embedder.model_id
    assert embedder.model_id.startswith("sface:")
    assert astronaut_reference.dim == 128
    assert astronaut_reference.images[0].sha256 == hashlib.sha256(astronaut_path.read_bytes()).hexdigest()


@pytest.mark.parametrize("variant", ["flipped", "darkened", "flipped and darkened"])
def test_the_licensed_face_in_another_rendition_matches(embedder, astronaut_reference, astronaut, variant):
    image = astronaut
    if "flipped" in variant:
        image = cv2.flip(image, 1)
    if "darkened" in variant:
        image = (image.astype(np.float32) * 0.5).astype(np.uint8)
    found = check_image(astronaut_reference, image, embedder, source=f"{variant} astronaut")
    assert [f.code for f in found] == ["license.identity_match"]
    assert found[0].detail["similarity"] > 0.85  # measured 0.94-0.96


def test_another_person_is_an_identity_mismatch(embedder, astronaut_reference, grace_hopper):
    found = check_image(astronaut_reference, grace_hopper, embedder, source="grace_hopper.jpg")
    assert [(f.code, f.severity) for f in found] == [("license.identity_mismatch", "error")]
    assert found[0].detail["similarity"] < 0.4  # measured 0.18


def test_a_group_photo_as_donor_is_a_several_faces_finding(embedder, astronaut_reference, t1):
    found = check_image(astronaut_reference, t1, embedder, source="t1.jpg")
    assert [(f.code, f.severity) for f in found] == [("license.identity_several_faces", "error")]
    assert "6 faces" in found[0].message and "crop it to the one face" in found[0].message


def test_an_image_without_a_face_is_a_no_face_finding(embedder, astronaut_reference):
    blank = np.full((256, 256, 3), 128, dtype=np.uint8)
    found = check_image(astronaut_reference, blank, embedder, source="grey.png")
    assert [f.code for f in found] == ["license.identity_no_face"]


def test_a_reference_made_by_another_model_is_a_model_mismatch(embedder, astronaut_reference, astronaut):
    other = convert(LikenessReference, {**_as_block(astronaut_reference), "model_id": "arcface:0123456789ab"},
                    "likeness")
    found = check_image(other, astronaut, embedder, source="astronaut.png")
    assert [f.code for f in found] == ["license.identity_model_mismatch"]


def _as_block(ref: LikenessReference) -> dict:
    return {"model_id": ref.model_id, "dim": ref.dim, "embedding": ref.embedding, "threshold": ref.threshold,
            "images": [{"sha256": i.sha256, "name": i.name} for i in ref.images]}


def test_the_cli_issues_from_a_reference_image_and_verifies_donors_with_the_engine(
        tmp_path, capsys, astronaut_path, grace_hopper_path, astronaut):
    keys = Keys().trust()
    cache_list(keys, issued_at=datetime.now(timezone.utc))  # offline: a fresh signed revocation list
    private = tmp_path / "platform.pem"
    private.write_bytes(signing.private_key_pem(keys.issuer))
    body = make_body(keys)
    body["term"] = {"start": (date.today() - timedelta(days=1)).isoformat(),
                    "end": (date.today() + timedelta(days=30)).isoformat(), "utc_offset": "+08:00"}
    body["likeness"] = {"model_id": "", "dim": 0, "embedding": "", "threshold": 0.5, "images": []}
    (tmp_path / "body.json").write_text(json.dumps(body))
    lic = tmp_path / "license.json"
    assert main(["license", "issue", "--key", str(private), "--body", str(tmp_path / "body.json"), "--out", str(lic),
                 "--reference-image", str(astronaut_path)]) == 0
    capsys.readouterr()
    flipped = tmp_path / "astronaut-flipped.png"
    cv2.imwrite(str(flipped), cv2.flip(astronaut, 1))

    def verify(donor) -> tuple[int, dict[str, str]]:
        code = main(["license", "verify", str(lic), "--production", "PRJ-0001", "--platform", "douyin",
                     "--territory", "CN", "--date", date.today().isoformat(), "--tier", "other", "--offline",
                     "--donor", str(donor), "--json"])
        return code, {f["code"]: f["severity"] for f in json.loads(capsys.readouterr().out)}

    code, found = verify(flipped)
    assert code == 0 and found["license.identity_match"] == "info"
    code, found = verify(grace_hopper_path)
    assert code == 1 and found["license.identity_mismatch"] == "error"
