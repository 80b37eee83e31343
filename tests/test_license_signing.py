"""Ed25519 over the RFC 8785 canonical body: layout does not matter, any change of meaning does."""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings, strategies as st

from faceright.compat import parse_instant
from faceright.licenses import signing
from faceright.licenses.document import DocumentFormatError, parse_signed
from faceright.licenses.keyring import Keyring
from test_license_support import NOW, Keys, blocking_codes, codes, make_body, shot, sign_body, verifier

pytestmark = pytest.mark.hostside


@pytest.fixture
def keys() -> Keys:
    return Keys().trust()


@pytest.fixture
def signed_bytes(keys) -> bytes:
    return sign_body(make_body(keys), keys.issuer)


def trust_codes(keys: Keys, data: bytes) -> list[str]:
    """The findings of the trust step only (what the signature and the keyring say)."""
    return [c for c in codes(verifier(keys).verify(parse_signed(data), shot(), None))
            if c.startswith(("license.signature", "license.key", "license.issuer"))]


def test_a_freshly_issued_license_verifies(keys, signed_bytes):
    assert trust_codes(keys, signed_bytes) == ["license.signature_ok"]


def test_canonical_bytes_are_rfc8785():
    assert signing.canonical_bytes({"b": 1.0, "a": [0.5, "é"], "c": {"z": None, "y": True}}) == \
        '{"a":[0.5,"é"],"b":1,"c":{"y":true,"z":null}}'.encode()


def _shuffled(value, rng: random.Random):
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), indent=st.sampled_from([None, 0, 1, 4, "\t"]),
       separators=st.sampled_from([(",", ":"), (", ", ": "), (" ,", " :  ")]), ascii_only=st.booleans())
def test_reordered_members_and_other_whitespace_still_verify(keys, signed_bytes, seed, indent, separators, ascii_only):
    env = _shuffled(json.loads(signed_bytes), random.Random(seed))
    text = json.dumps(env, indent=indent, separators=separators, ensure_ascii=ascii_only)
    assert text.encode() != signed_bytes
    assert trust_codes(keys, text.encode()) == ["license.signature_ok"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_changed_byte_is_refused_or_changes_nothing_signed(keys, signed_bytes, data):
    position = data.draw(st.integers(0, len(signed_bytes) - 1))
    new = data.draw(st.integers(0, 255).filter(lambda b: b != signed_bytes[position]))
    tampered = signed_bytes[:position] + bytes([new]) + signed_bytes[position + 1:]
    try:
        found = trust_codes(keys, tampered)
    except DocumentFormatError:
        return  # no longer a well-formed document: refused with a clear error
    if found == ["license.signature_ok"]:
        # only layout changed (a space became a tab or newline): the signed meaning is identical
        assert json.loads(tampered) == json.loads(signed_bytes)
    else:
        assert found and set(found) <= {"license.signature_invalid", "license.key_unknown", "license.issuer_mismatch"}


def test_a_changed_value_breaks_the_signature(keys, signed_bytes):
    env = json.loads(signed_bytes)
    env["body"]["scope"]["territories"].append("US")
    assert trust_codes(keys, json.dumps(env).encode()) == ["license.signature_invalid"]


def test_a_signature_from_an_untrusted_key_is_refused(keys):
    stranger = Ed25519PrivateKey.generate()
    data = sign_body(make_body(keys), stranger)
    findings = verifier(keys).verify(parse_signed(data), shot(), None)
    assert codes(findings) == ["license.key_unknown"]  # nothing else: an untrusted scope means nothing
    assert "does not trust" in findings[0].message and "platform" in findings[0].message


def test_a_key_id_naming_a_trusted_key_while_another_key_signed_is_refused(keys):
    stranger = Ed25519PrivateKey.generate()
    body = json.loads(sign_body(make_body(keys), stranger))["body"]
    trusted_id = signing.key_id(keys.issuer.public_key())
    body["issuer"]["key_id"] = trusted_id  # the body claims the trusted issuer ...
    sig = signing.sign(body, stranger).to_json()
    sig["key_id"] = trusted_id  # ... and so does the signature, but the stranger signed
    data = json.dumps({"body": body, "signature": sig}).encode()
    assert trust_codes(keys, data) == ["license.signature_invalid"]


def test_a_body_naming_another_issuer_than_the_signer_is_refused(keys):
    other = Ed25519PrivateKey.generate()
    Keyring().add(other.public_key(), name="other-platform")
    env = json.loads(sign_body(make_body(keys), keys.issuer))
    env["signature"] = signing.sign(env["body"], other).to_json()  # a trusted key re-signs another's license
    assert trust_codes(keys, json.dumps(env).encode()) == ["license.issuer_mismatch"]


def test_a_registry_key_cannot_issue_licenses(keys):
    data = sign_body(make_body(keys), keys.registry)
    assert trust_codes(keys, data) == ["license.key_not_issuer"]


def test_a_key_past_its_expiry_blocks_but_the_rest_is_still_reported():
    keys = Keys()
    keys.keyring.add(keys.issuer.public_key(), name="platform", expires_at=NOW - timedelta(days=1),
                     now=NOW - timedelta(days=30))
    data = sign_body(make_body(keys), keys.issuer)
    found = verifier(keys).verify(parse_signed(data), shot(), None)
    assert "license.key_expired" in blocking_codes(found)
    assert "license.identity_unchecked" in codes(found)  # later checks still ran


def test_key_files_round_trip_and_refuse_the_wrong_half(tmp_path):
    private, public = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    key = signing.write_key_pair(private, public)
    assert private.stat().st_mode & 0o777 == 0o600
    assert signing.key_id(signing.load_public_key(public)) == signing.key_id(key.public_key())
    assert signing.key_id(signing.load_private_key(private).public_key()) == signing.key_id(key.public_key())
    with pytest.raises(signing.KeyFileError, match="holds a private key"):
        signing.load_public_key(private)
    with pytest.raises(signing.KeyFileError, match="holds a public key"):
        signing.load_private_key(public)
    with pytest.raises(signing.KeyFileError, match="never overwrites"):
        signing.write_key_pair(private, tmp_path / "other.pub.pem")


def test_an_encrypted_private_key_needs_its_passphrase(tmp_path):
    private, public = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    signing.write_key_pair(private, public, passphrase=b"correct horse")
    with pytest.raises(signing.KeyFileError, match="encrypted"):
        signing.load_private_key(private)
    with pytest.raises(signing.KeyFileError, match="wrong passphrase"):
        signing.load_private_key(private, b"wrong")
    assert signing.load_private_key(private, b"correct horse")


def test_non_ed25519_keys_are_refused(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    path = tmp_path / "ec.pub.pem"
    path.write_bytes(pem)
    with pytest.raises(signing.KeyFileError, match="Ed25519 keys only"):
        signing.load_public_key(path)


def test_signature_time_is_independent_of_the_wall_clock(keys):
    # the same body signed twice gives the same signature (Ed25519 is deterministic)
    body = json.loads(sign_body(make_body(keys), keys.issuer))["body"]
    assert signing.sign(body, keys.issuer).value == signing.sign(dict(reversed(body.items())), keys.issuer).value
    assert parse_instant(body["issued_at"]) == datetime(2026, 1, 2, tzinfo=timezone.utc)
