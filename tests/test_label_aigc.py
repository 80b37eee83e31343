"""The AIGC object: Annex E fields in order, value rules, the ReservedCode1 signature."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from faceright.errors import ConfigError, FaceRightError
from faceright.labels.aigc import (
    FIELDS,
    AigcLabel,
    aigc_metadata,
    check_signature,
    load_public_key,
    load_signing_key,
    parse_label,
)
from faceright.labels.policy import LabelSettings, label_settings, required_labels
from label_support import PROVIDER, codes, errors

pytest_plugins = ("label_fixtures",)   # keys, settings, ocr, still, plate


def test_metadata_holds_one_aigc_key_with_the_seven_fields_in_annex_e_order(settings):
    metadata = aigc_metadata(settings, produce_id="shot010-v3-7f2e")
    assert list(metadata) == ["AIGC"]
    pairs = json.loads(metadata["AIGC"], object_pairs_hook=list)
    assert [name for name, _ in pairs] == list(FIELDS)
    values = dict(pairs)
    assert values["Label"] == "1" and values["ContentProducer"] == PROVIDER and values["ProduceID"] == "shot010-v3-7f2e"
    assert values["ReservedCode1"].startswith("ED25519:")
    assert all(ord(c) < 0x7F and c not in ' "\\' for v in values.values() for c in v)
    assert values["ContentPropagator"] == values["PropagateID"] == values["ReservedCode2"] == ""


def test_each_file_gets_its_own_produce_id(settings):
    first = json.loads(aigc_metadata(settings)["AIGC"])["ProduceID"]
    second = json.loads(aigc_metadata(settings)["AIGC"])["ProduceID"]
    assert first and second and first != second


def test_a_label_written_is_parsed_back_without_findings_and_its_signature_verifies(settings, keys):
    label, findings = parse_label(aigc_metadata(settings)["AIGC"])
    assert findings == []
    assert check_signature(label, load_public_key(keys[1])).code == "aigc.signature_valid"


def test_changing_a_signed_field_breaks_the_signature(settings, keys):
    label, _ = parse_label(aigc_metadata(settings)["AIGC"])
    for field in ("Label", "ContentProducer", "ProduceID"):
        tampered = replace(label, **{field: getattr(label, field) + "X" if field != "Label" else "2"})
        assert check_signature(tampered, load_public_key(keys[1])).code == "aigc.signature_invalid", field


def test_a_platform_filling_the_propagator_fields_keeps_the_producer_signature_valid(settings, keys):
    label, _ = parse_label(aigc_metadata(settings)["AIGC"])
    propagated = replace(label, ContentPropagator="001191110000MA0000000Y20001", PropagateID="p-42", ReservedCode2="x")
    assert check_signature(propagated, load_public_key(keys[1])).code == "aigc.signature_valid"


def test_without_a_public_key_the_signature_is_unverifiable_not_valid(settings):
    label, _ = parse_label(aigc_metadata(settings)["AIGC"])
    finding = check_signature(label, None)
    assert finding.code == "aigc.signature_unverifiable" and finding.severity == "warning"


def test_another_studios_key_does_not_verify(settings, tmp_path):
    from faceright.labels.aigc import write_keypair

    write_keypair(tmp_path / "other.pem", tmp_path / "other.pub.pem")
    label, _ = parse_label(aigc_metadata(settings)["AIGC"])
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
        aigc_metadata(LabelSettings(signing_key=keys[0]))
    with pytest.raises(ConfigError, match="faceright label keygen"):
        aigc_metadata(LabelSettings(provider_code=PROVIDER, signing_key=tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="Chinese"):
        aigc_metadata(LabelSettings(provider_code="某某科技", signing_key=keys[0]))


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
