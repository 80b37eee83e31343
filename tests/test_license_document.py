"""Signed documents are read strictly: bounded, unambiguous, on-schema, or refused with a clear error."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from faceright.licenses import document, issuing, strictjson, template
from faceright.licenses.document import DocumentFormatError, LikenessLicense, PlateRelease, load_signed, parse_signed
from test_license_support import Keys, body_with, leaf_paths, make_body, sign_body

pytestmark = pytest.mark.hostside

KEYS = Keys()  # keys only: no keyring is touched by these tests
SIGNED = sign_body(make_body(KEYS), KEYS.issuer)
ENVELOPE = json.loads(SIGNED)
BODY = ENVELOPE["body"]  # as issued: key id and issue time stamped


def _dumps(value) -> bytes:
    return json.dumps(value).encode("utf-8")


def test_the_template_filled_with_a_reference_issues_and_reads_back():
    signed = parse_signed(SIGNED)
    assert isinstance(signed.document, LikenessLicense)
    d = signed.document
    assert d.license_id == BODY["license_id"]
    assert d.term.start == date(2026, 1, 1) and d.term.end == date(2026, 12, 31)
    assert d.issuer.key_id == signed.signature.key_id
    assert d.issued_at == datetime(2026, 1, 2, tzinfo=timezone.utc)
    assert d.reference.vector.shape == (128,)
    assert d.scope.productions[0].covers_episode(80) and not d.scope.productions[0].covers_episode(81)


def test_a_release_template_issues_as_a_plate_release():
    signed = parse_signed(sign_body(make_body(KEYS, release=True), KEYS.issuer))
    assert isinstance(signed.document, PlateRelease)
    assert signed.document.doc_id.startswith("urn:uuid:")
    assert signed.document.subject.person_id == "person:example-plate-performer-0001"


def test_an_unfilled_template_is_refused_with_how_to_fill_the_reference():
    with pytest.raises(DocumentFormatError, match="faceright license reference IMAGE"):
        issuing.issue(template.license_template(), KEYS.issuer)


def test_each_template_gets_a_fresh_license_id():
    assert template.license_template()["license_id"] != template.license_template()["license_id"]


@pytest.mark.parametrize(
    "text",
    [
        '{"body": {"schema": "a", "schema": "b"}, "signature": {}}',
        '{"body": {}, "body": {}, "signature": {}}',
        '{"body": {"scope": {"territories": ["CN"], "territories": ["US"]}}, "signature": {}}',
    ],
)
def test_duplicate_member_names_are_refused(text):
    with pytest.raises(DocumentFormatError, match="appears twice"):
        parse_signed(text.encode())


def test_a_duplicate_member_hidden_in_a_signed_license_is_refused():
    # the duplicate repeats a real member with another value: one reader would see CN, another US
    text = SIGNED.decode().replace('"territories": [', '"territories": ["US"], "territories": [', 1)
    assert text != SIGNED.decode()
    with pytest.raises(DocumentFormatError, match="'territories' appears twice"):
        parse_signed(text.encode())


@pytest.mark.parametrize(
    "where",
    ["", "body", "body.scope", "body.likeness", "body.likeness.images.0", "body.scope.productions.0",
     "body.consent", "signature"],
)
def test_unknown_members_are_refused_at_every_level(where):
    env = json.loads(SIGNED)
    node = env
    for part in filter(None, where.split(".")):
        node = node[int(part)] if isinstance(node, list) else node[part]
    node["royalty_free_forever"] = True
    with pytest.raises(DocumentFormatError, match="royalty_free_forever|exactly"):
        parse_signed(_dumps(env))


def test_a_missing_required_member_is_named():
    body = dict(BODY)
    del body["consent"]
    with pytest.raises(DocumentFormatError, match="lacks the required member 'consent'"):
        document.parse_body(body)


def test_optional_members_may_be_omitted_or_null():
    body = json.loads(json.dumps(BODY))
    del body["supersedes"]
    body["reach"]["max_views"] = None
    d = document.parse_body(body)
    assert d.supersedes is None and d.reach.max_views is None


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(SIGNED.rstrip()) - 1))
def test_a_truncated_file_is_refused_at_any_length(cut):
    with pytest.raises(DocumentFormatError):
        parse_signed(SIGNED[:cut])


def test_truncation_is_reported_as_such(tmp_path):
    path = tmp_path / "license.json"
    path.write_bytes(SIGNED[: len(SIGNED) // 2])
    with pytest.raises(DocumentFormatError, match="truncated"):
        load_signed(path)


def test_a_50_mb_file_is_refused_by_its_size_before_any_byte_is_read(tmp_path, monkeypatch):
    path = tmp_path / "huge.json"
    with path.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # sparse: costs no disk, has the size

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was opened although its size already refused it")

    monkeypatch.setattr(Path, "open", no_reading)
    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(DocumentFormatError, match="52,428,800 bytes.*was not read"):
        load_signed(path)


def test_the_size_cap_is_the_settings_cap(tmp_path):
    path = tmp_path / "license.json"
    path.write_bytes(SIGNED)
    with pytest.raises(DocumentFormatError, match="at most 100 bytes"):
        load_signed(path, max_bytes=100)
    assert load_signed(path, max_bytes=len(SIGNED)).document.doc_id == BODY["license_id"]


@pytest.mark.parametrize(
    "path, value, message",
    [
        ("version", "1", "body.version must be an integer"),
        ("version", True, "body.version must be an integer"),
        ("issued_at", 1767312000, "body.issued_at must be a string"),
        ("scope.territories", "CN", "body.scope.territories must be a list"),
        ("scope.territories.0", 86, r"body.scope.territories\[0\] must be a string"),
        ("reach.tier", "huge", "body.reach.tier must be one of other, ordinary, key"),
        ("reach.max_budget_cny", 1.5, "body.reach.max_budget_cny must be an integer"),
        ("consent.separate_consent", "yes", "body.consent.separate_consent must be true or false"),
        ("likeness.threshold", True, "body.likeness.threshold must be a number"),
        ("likeness.dim", "128", "body.likeness.dim must be an integer"),
        ("term.start", "2026-01-01T00:00:00+08:00", "expected a calendar date"),
        ("term.utc_offset", 8, "body.term.utc_offset must be a string"),
        ("licensee", "Example Studio", "body.licensee must be an object"),
        ("uses.prohibited_content.0", "politics", "must be one of political"),
    ],
)
def test_wrong_types_are_refused_naming_the_member(path, value, message):
    with pytest.raises(DocumentFormatError, match=message):
        document.parse_body(body_with(BODY, path, value))


def _kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


LEAVES: list[tuple[str, str]] = []  # (path, JSON kind) of every non-null member
for _p in leaf_paths(BODY):
    _node = BODY
    for _part in _p.split("."):
        _node = _node[int(_part)] if isinstance(_node, list) else _node[_part]
    if _node is not None:
        LEAVES.append((_p, _kind(_node)))

OTHER_KIND_VALUES = {
    "str": st.text(max_size=5),
    "number": st.integers(-5, 10**6) | st.floats(-1e6, 1e6, allow_nan=False),
    "bool": st.booleans(),
    "list": st.lists(st.text(max_size=3), max_size=2),
    "dict": st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
}


@st.composite
def wrong_kind_mutation(draw):
    path, kind = draw(st.sampled_from(LEAVES))
    other = draw(st.sampled_from([k for k in OTHER_KIND_VALUES if k != kind]))
    return path, draw(OTHER_KIND_VALUES[other])


@settings(max_examples=150, deadline=None)
@given(mutation=wrong_kind_mutation())
def test_a_value_of_another_json_kind_anywhere_is_refused(mutation):
    path, value = mutation
    with pytest.raises(DocumentFormatError):
        document.parse_body(body_with(BODY, path, value))


@settings(max_examples=150, deadline=None)
@given(path=st.sampled_from([p for p, _ in LEAVES]),
       value=st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                      max_size=3), max_leaves=6))
def test_any_value_anywhere_parses_or_is_refused_cleanly_never_crashes(path, value):
    data = _dumps({"body": body_with(BODY, path, value), "signature": ENVELOPE["signature"]})
    try:
        signed = parse_signed(data)
    except DocumentFormatError:
        return
    assert signed.document.doc_id.startswith("urn:uuid:")


@pytest.mark.parametrize("value", ["2026-06-01T09:00:00", "2026-06-01 09:00:00+08:00x", "June 1st"])
def test_a_date_time_without_a_utc_offset_or_malformed_is_refused(value):
    with pytest.raises(DocumentFormatError, match="issued_at"):
        document.parse_body(body_with(BODY, "issued_at", value))


def test_a_date_time_in_another_time_zone_is_read_as_the_same_instant():
    d = document.parse_body(body_with(BODY, "consent.signed_at", "2025-12-19T21:00:00-05:00"))
    assert d.consent.signed_at == datetime(2025, 12, 20, 2, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ['{"body": {"x": NaN}}', '{"body": {"x": Infinity}}', '{"body": {"x": 1e999}}',
                                  '{"body": {"x": 9007199254740993}}'])
def test_numbers_rfc8785_cannot_sign_exactly_are_refused(text):
    with pytest.raises(DocumentFormatError):
        parse_signed(text.encode())


def test_text_that_is_not_utf8_or_starts_with_a_bom_is_refused():
    with pytest.raises(DocumentFormatError, match="not UTF-8"):
        parse_signed(SIGNED.replace(b"Example", b"Ex\xffmple", 1))
    with pytest.raises(DocumentFormatError, match="byte-order mark"):
        parse_signed(b"\xef\xbb\xbf" + SIGNED)


def test_a_signature_value_in_non_canonical_base64_is_refused():
    env = json.loads(SIGNED)
    value = env["signature"]["value"]
    assert value.endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    # the last data character carries 4 spare bits: flipping one spells the same 64 bytes differently
    env["signature"]["value"] = value[:-3] + alphabet[alphabet.index(value[-3]) ^ 1] + "=="
    with pytest.raises(DocumentFormatError, match="canonical base64"):
        parse_signed(_dumps(env))


@pytest.mark.parametrize(
    "signature, message",
    [
        ({"alg": "RS256", "key_id": ENVELOPE["signature"]["key_id"], "value": ENVELOPE["signature"]["value"]},
         "accepts Ed25519 only"),
        ({"alg": "Ed25519", "key_id": "platform", "value": ENVELOPE["signature"]["value"]}, "key_id must look like"),
        ({"alg": "Ed25519", "key_id": ENVELOPE["signature"]["key_id"], "value": "AAAA"}, "64 bytes"),
        ({"alg": "Ed25519", "key_id": ENVELOPE["signature"]["key_id"]}, "missing: value"),
        ("Ed25519:abc", "signature must be an object"),
    ],
)
def test_a_malformed_signature_member_is_refused(signature, message):
    with pytest.raises(DocumentFormatError, match=message):
        parse_signed(_dumps({"body": BODY, "signature": signature}))


def test_an_unknown_schema_names_the_schemas_faceright_reads():
    with pytest.raises(DocumentFormatError, match="faceright.likeness-license/1, faceright.plate-release/1"):
        document.parse_body(body_with(BODY, "schema", "faceright.likeness-license/2"))


@pytest.mark.parametrize(
    "path, value, message",
    [
        ("term.end", "2025-12-31", "end 2025-12-31 is before start"),
        ("term.utc_offset", "+8", "utc_offset must look like"),
        ("license_id", "LIC-1", "urn:uuid"),
        ("licensee.aigc_provider_code", "0011ABC", "27 digits"),
        ("likeness.embedding", "AAAA", "expected 512 for dim 128"),
        ("likeness.threshold", 1.5, r"threshold must be in \(0, 1\]"),
        ("likeness.images", [], "at least one reference image"),
        ("scope.platforms", [], "platforms must list at least one"),
        ("scope.productions.0.episodes", "1 to 80", "episodes must look like"),
        ("scope.productions.0.episodes", "80-1", "runs backwards"),
        ("revocation.registry_url", "ftp://registry.example.com", "registry_url must be an https"),
        ("consent.consent_text_sha256", "abc", "64 lower-case hex"),
    ],
)
def test_values_of_the_right_type_but_impossible_are_refused(path, value, message):
    with pytest.raises(DocumentFormatError, match=message):
        document.parse_body(body_with(BODY, path, value))


def test_strict_loads_reports_line_and_column():
    with pytest.raises(DocumentFormatError, match="line 2 column"):
        strictjson.loads(b'{\n  "a": ,\n}')


@pytest.mark.parametrize("schema", [5, None, ["faceright.plate-release/1"]])
def test_issuing_a_body_with_a_wrong_schema_is_a_clear_error(schema):
    body = make_body(KEYS)
    body["schema"] = schema
    with pytest.raises(DocumentFormatError, match="body.schema"):
        issuing.issue(body, KEYS.issuer, reference=body["likeness"])


def test_issuing_puts_the_reference_where_the_document_kind_keeps_it():
    ref = make_body(KEYS)["likeness"]
    release = issuing.issue(make_body(KEYS, release=True), KEYS.issuer, reference=ref)
    assert release.body["face"] == ref and "likeness" not in release.body
