"""The AIGC object: Annex E fields in order, value rules, the ReservedCode1 signature."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from faceright.errors import ConfigError, FaceRightError
from faceright.labels.aigc import (
    AigcLabel,
    build_label,
    check_signature,
    load_public_key,
    load_signing_key,
    parse_label,
)
from faceright.labels.policy import LabelSettings, label_settings, required_labels
from label_support import PROVIDER, codes, errors

pytestmark = pytest.mark.hostside

pytest_plugins = ("label_fixtures",)   # keys, settings, ocr, still, plate

# GB 45438-2025 Annex E, written out from the standard (../shared/reference/compliance.md §1.4), not from the code
ANNEX_E_FIELDS = ["Label", "ContentProducer", "ProduceID", "ReservedCode1",
                  "ContentPropagator", "PropagateID", "ReservedCode2"]


def test_metadata_holds_one_aigc_key_with_the_seven_fields_in_annex_e_order(settings):
    metadata = {"AIGC": build_label(settings, produce_id="shot010-v3-7f2e").to_json()}
    assert list(metadata) == ["AIGC"]
    pairs = json.loads(metadata["AIGC"], object_pairs_hook=list)
    assert [name for name, _ in pairs] == ANNEX_E_FIELDS
    values = dict(pairs)
    assert values["Label"] == "1" and values["ContentProducer"] == PROVIDER and values["ProduceID"] == "shot010-v3-7f2e"
    assert values["ReservedCode1"].startswith("ED25519:")
    assert all(ord(c) < 0x7F and c not in ' "\\' for v in values.values() for c in v)
    assert values["ContentPropagator"] == values["PropagateID"] == values["ReservedCode2"] == ""


def test_each_file_gets_its_own_produce_id(settings):
    first = json.loads(build_label(settings).to_json())["ProduceID"]
    second = json.loads(build_label(settings).to_json())["ProduceID"]
    assert first and second and first != second


def test_a_label_written_is_parsed_back_without_findings_and_its_signature_verifies(settings, keys):
    label, findings = parse_label(build_label(settings).to_json())
    assert findings == []
    assert check_signature(label, load_public_key(keys[1])).code == "aigc.signature_valid"


def test_changing_a_signed_field_breaks_the_signature(settings, keys):
    label, _ = parse_label(build_label(settings).to_json())
    for field in ("Label", "ContentProducer", "ProduceID"):
        tampered = replace(label, **{field: getattr(label, field) + "X" if field != "Label" else "2"})
        assert check_signature(tampered, load_public_key(keys[1])).code == "aigc.signature_invalid", field


def test_a_platform_filling_the_propagator_fields_keeps_the_producer_signature_valid(settings, keys):
    label, _ = parse_label(build_label(settings).to_json())
    propagated = replace(label, ContentPropagator="001191110000MA0000000Y20001", PropagateID="p-42", ReservedCode2="x")
    assert check_signature(propagated, load_public_key(keys[1])).code == "aigc.signature_valid"


def test_without_a_public_key_the_signature_is_unchecked_and_blocks(settings, tmp_path):
    label, _ = parse_label(build_label(settings).to_json())
    assert check_signature(label, None).code == "aigc.signature_unchecked"
    elsewhere = replace(settings, public_key=tmp_path / "absent.pub.pem")
    finding = check_signature(label, None, elsewhere)
    assert finding.code == "aigc.signature_unchecked" and finding.severity == "error"
    assert str(tmp_path / "absent.pub.pem") in finding.message and "public_key" in finding.message
    assert finding.detail == {"public_key": str(tmp_path / "absent.pub.pem")}


def test_a_signature_of_an_unknown_scheme_blocks(settings, keys):
    label, _ = parse_label(build_label(settings).to_json())
    foreign = replace(label, ReservedCode1="SM2:MEUCIQDk")
    finding = check_signature(foreign, load_public_key(keys[1]), settings)
    assert finding.code == "aigc.signature_scheme_unknown" and finding.severity == "error"
    assert "faceright label apply" in finding.message and finding.detail == {"scheme": "SM2"}


def test_warn_only_lowers_a_signature_that_cannot_be_checked_and_says_so(settings, keys):
    label, _ = parse_label(build_label(settings).to_json())
    foreign = replace(label, ReservedCode1="SM2:MEUCIQDk")
    lenient = replace(settings, warn_only=("aigc.signature_unchecked",))
    unchecked = check_signature(label, None, lenient)
    assert unchecked.severity == "warning" and "lowered from a block to a warning by the [labels] warn_only" \
        in unchecked.message
    assert unchecked.detail["lowered_by"] == "[labels] warn_only"
    assert check_signature(foreign, load_public_key(keys[1]), lenient).severity == "error"   # each code on its own
    both = replace(settings, warn_only=("aigc.signature_unchecked", "aigc.signature_scheme_unknown"))
    assert check_signature(foreign, load_public_key(keys[1]), both).severity == "warning"


def test_warn_only_cannot_lower_a_label_found_wrong(keys):
    with pytest.raises(ConfigError, match="cannot lower aigc.signature_invalid.*aigc.signature_unchecked"):
        LabelSettings(warn_only=("aigc.signature_invalid",))
    with pytest.raises(ConfigError, match="warn_only"):
        label_settings({"labels": {"warn_only": ["aigc.absent"]}})
    settings = label_settings({"labels": {"warn_only": ["c2pa.read_failed", "aigc.signature_unchecked"]}})
    assert settings.warn_only == ("c2pa.read_failed", "aigc.signature_unchecked")


def test_a_labelled_image_verified_without_a_public_key_is_not_proven_unless_policy_lowers_it(settings, keys,
                                                                                              tmp_path):
    import cv2
    import numpy as np

    from faceright.labels.metadata import write_image
    from faceright.labels.verify import verify_file

    cv2.imwrite(str(tmp_path / "plain.png"), np.full((32, 48, 3), 90, np.uint8))
    from faceright.labels.content import content_digest

    bound = build_label(settings, content=content_digest(tmp_path / "plain.png"))
    write_image(tmp_path / "plain.png", tmp_path / "shot.png", bound.to_json())
    (tmp_path / "solo.pem").write_bytes(keys[0].read_bytes())     # a private key with no public key beside it
    keyless = replace(settings, signing_key=tmp_path / "solo.pem", public_key=None)
    report = verify_file(tmp_path / "shot.png", keyless)
    assert not report.proven and errors(report.findings) == {"aigc.signature_unchecked"}
    lowered = verify_file(tmp_path / "shot.png", replace(keyless, warn_only=("aigc.signature_unchecked",)))
    assert lowered.proven and {"aigc.present", "aigc.signature_unchecked"} <= codes(lowered.findings)
    assert next(f for f in lowered.findings if f.code == "aigc.signature_unchecked").severity == "warning"


def test_another_studios_key_does_not_verify(settings, tmp_path):
    from faceright.labels.aigc import write_keypair

    write_keypair(tmp_path / "other.pem", tmp_path / "other.pub.pem")
    label, _ = parse_label(build_label(settings).to_json())
    assert check_signature(label, load_public_key(tmp_path / "other.pub.pem")).code == "aigc.signature_invalid"


@pytest.mark.parametrize("text, code", [
    ('{"Label":"1","ContentProducer":', "aigc.malformed_json"),
    ('["1"]', "aigc.not_an_object"),
    ('{"Label":"1","ContentProducer":"x","ProduceID":"y"}', "aigc.missing_field"),
    ('{"ContentProducer":"%s","Label":"1","ProduceID":"y","ReservedCode1":"","ContentPropagator":"",'
     '"PropagateID":"","ReservedCode2":""}' % PROVIDER, "aigc.field_order"),
    ('{"Label":1,"ContentProducer":"%s","ProduceID":"y","ReservedCode1":"","ContentPropagator":"",'
     '"PropagateID":"","ReservedCode2":""}' % PROVIDER, "aigc.value_type"),
    ('{"Label":"1","ContentProducer":"某某科技有限公司","ProduceID":"y","ReservedCode1":"","ContentPropagator":"",'
     '"PropagateID":"","ReservedCode2":""}', "aigc.value_charset"),
    ('{"Label":"4","ContentProducer":"%s","ProduceID":"y","ReservedCode1":"","ContentPropagator":"",'
     '"PropagateID":"","ReservedCode2":""}' % PROVIDER, "aigc.label_value"),
    ('{"Label":"1","Label":"1","ContentProducer":"%s","ProduceID":"y","ReservedCode1":"","ContentPropagator":"",'
     '"PropagateID":"","ReservedCode2":""}' % PROVIDER, "aigc.duplicate_field"),
    ('{"Label":"1","ContentProducer":"%s","ProduceID":"y","ReservedCode1":"","ContentPropagator":"",'
     '"PropagateID":"","ReservedCode2":"","Extra":"z"}' % PROVIDER, "aigc.unknown_field"),
])
def test_each_deviation_from_annex_e_is_named(text, code):
    _, findings = parse_label(text)
    assert code in errors(findings), findings


def test_a_company_name_instead_of_the_provider_code_is_a_warning():
    label = AigcLabel(Label="1", ContentProducer="ACME-Studio", ProduceID="y")
    _, findings = parse_label(label.to_json())
    assert codes(findings) == {"aigc.producer_code"}


def test_building_a_label_without_a_provider_code_or_key_says_what_to_configure(tmp_path, keys):
    with pytest.raises(ConfigError, match="provider_code"):
        build_label(LabelSettings(signing_key=keys[0]))
    with pytest.raises(ConfigError, match="faceright label keygen"):
        build_label(LabelSettings(provider_code=PROVIDER, signing_key=tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="Chinese"):
        build_label(LabelSettings(provider_code="某某科技", signing_key=keys[0]))


def test_a_non_ed25519_key_is_refused(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / "p256.pem").write_bytes(pem)
    with pytest.raises(FaceRightError, match="Ed25519"):
        load_signing_key(tmp_path / "p256.pem")


def test_labels_table_is_read_from_the_config_and_unknown_keys_are_refused(keys):
    table = {"labels": {"provider_code": PROVIDER, "wording": "人工智能生成", "position": "top-left",
                        "min_duration_s": 3, "signing_key": str(keys[0])}}
    settings = label_settings(table)
    assert settings.wording == "人工智能生成" and settings.position == "top-left" and settings.min_duration_s == 3.0
    with pytest.raises(ConfigError, match="wordng"):
        label_settings({"labels": {"wordng": "AI"}})
    with pytest.raises(ConfigError, match="position"):
        label_settings({"labels": {"position": "centre"}})
    with pytest.raises(ConfigError, match="shorter than min_duration_s"):
        label_settings({"labels": {"duration_s": 1.5}})


def test_shots_need_the_metadata_and_deliverables_the_visible_text_too():
    settings = LabelSettings()
    assert required_labels("shot", settings) == {"metadata"}
    assert required_labels("deliverable", settings) == {"metadata", "visible"}
    assert required_labels("shot", replace(settings, require_c2pa=True)) == {"metadata", "c2pa"}
