"""Revocation over real HTTP on loopback: normal, slow, failing, flaky, lying, forging and replaying registries,
and the cached list for offline work, which fails closed past its maximum age."""
from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta

import pytest
import requests

import test_license_support
from faceright.errors import LicenseError
from faceright.licenses import revocation, signing
from faceright.licenses.document import parse_signed
from faceright.licenses.identity import FaceEvidence
from faceright.licenses.keyring import Keyring
from faceright.licenses.revocation import (
    RegistryClient, RegistryError, RevocationStore, UntrustedRecordError, refresh_list,
)
from faceright.licenses.settings import LicenseSettings
from test_license_support import (
    FAST, NOW, PERSON_A, Keys, RegistryServer, blocking_codes, cache_list, codes, make_body, shot, sign_body,
    stub_vectors, verifier,
)

pytestmark = pytest.mark.hostside


@pytest.fixture
def keys() -> Keys:
    return Keys().trust()


class _TestsClock(datetime):
    """``datetime`` whose ``now()`` is the tests' NOW, so the loopback registry dates its answers by the same
    clock as the verifier (an answer dated months after the verifier's "now" is refused as future-dated)."""

    @classmethod
    def now(cls, tz=None):
        return NOW.astimezone(tz)


@pytest.fixture
def registry(keys, monkeypatch):
    monkeypatch.setattr(test_license_support, "datetime", _TestsClock)
    with RegistryServer(keys.registry) as server:
        yield server


@pytest.fixture
def session():
    with requests.Session() as s:
        yield s


@pytest.fixture
def client(session) -> RegistryClient:
    return RegistryClient(session, FAST)


def licensed(keys: Keys, registry_url: str):
    return parse_signed(sign_body(make_body(keys, registry_url=registry_url), keys.issuer))


DONOR = FaceEvidence(stub_vectors()[PERSON_A], "stub-recogniser@1", "donor.png")


def revocation_findings(keys, signed, client, now=NOW, settings=FAST):
    found = verifier(keys, settings=settings, client=client, now=now).verify(signed, shot(), DONOR)
    return [f for f in found if f.code.startswith("license.revo") or f.code == "license.suspended"]


# -- a normal registry ------------------------------------------------------------------------------


def test_an_active_license_passes_with_the_registrys_signed_word(keys, registry, client):
    signed = licensed(keys, registry.url)
    found = verifier(keys, client=client).verify(signed, shot(), DONOR)
    assert blocking_codes(found) == []
    assert [f.code for f in found if "revocation" in f.code] == ["license.revocation_ok"]
    assert registry.requests[0].startswith("GET /v1/licenses/urn%3Auuid%3A")
    assert "nonce=" in registry.requests[0]


@pytest.mark.parametrize("state, code", [("revoked", "license.revoked"), ("suspended", "license.suspended")])
def test_a_revoked_or_suspended_license_blocks(keys, registry, client, state, code):
    signed = licensed(keys, registry.url)
    registry.revoke(signed.document.doc_id, state=state, reason="consent withdrawn")
    found = revocation_findings(keys, signed, client)
    assert [(f.code, f.severity) for f in found] == [(code, "error")]
    assert "consent withdrawn" in found[0].message


def test_a_revocation_effective_later_is_a_warning_until_then(keys, registry, client):
    signed = licensed(keys, registry.url)
    registry.revoke(signed.document.doc_id, effective_from=NOW + timedelta(days=30))
    assert codes(revocation_findings(keys, signed, client)) == ["license.revocation_pending"]
    assert codes(revocation_findings(keys, signed, client, now=NOW + timedelta(days=31))) == ["license.revoked"]


def test_a_license_the_registry_does_not_know_fails_closed(keys, registry, client):
    registry.behaviour = "unknown"
    found = revocation_findings(keys, licensed(keys, registry.url), client)
    assert codes(found) == ["license.revocation_unknown"] and "does not know" in found[0].message


# -- slow, failing, flaky --------------------------------------------------------------------------


def test_a_slow_registry_times_out_retries_and_then_fails_closed(keys, registry, session):
    registry.behaviour, registry.delay = "slow", 2.0
    timeouts: list[object] = []
    pauses: list[float] = []
    send = session.request

    def recording(method, url, **kwargs):
        timeouts.append(kwargs.get("timeout"))
        return send(method, url, **kwargs)

    session.request = recording
    client = RegistryClient(session, FAST, sleep=pauses.append)
    found = revocation_findings(keys, licensed(keys, registry.url), client)
    assert codes(found) == ["license.revocation_unknown"]
    assert "timed out" in found[0].message and "3 attempt(s)" in found[0].message
    assert "faceright license refresh --registry" in found[0].message
    assert len(registry.requests) == 3  # first try + FAST.retries
    # each attempt gives up at the read timeout (0.2 s), not at the server's 2 s; backoff doubles up to its cap
    assert timeouts == [(FAST.connect_timeout_s, FAST.read_timeout_s)] * 3
    assert pauses == [FAST.backoff_s, FAST.max_backoff_s]


def test_a_failing_registry_is_retried_with_backoff_then_status_unknown(keys, registry, session):
    registry.behaviour = "failing"
    pauses: list[float] = []
    settings = LicenseSettings(**{**FAST.__dict__, "retries": 3, "backoff_s": 0.5, "max_backoff_s": 1.0})
    client = RegistryClient(session, settings, sleep=pauses.append)
    found = revocation_findings(keys, licensed(keys, registry.url), client, settings=settings)
    assert codes(found) == ["license.revocation_unknown"] and "HTTP 503" in found[0].message
    assert len(registry.requests) == 4
    assert pauses == [0.5, 1.0, 1.0]  # doubling, capped at max_backoff_s


def test_a_flaky_registry_answers_on_a_retry(keys, registry, client):
    registry.behaviour, registry.fail_first = "flaky", 2
    assert codes(revocation_findings(keys, licensed(keys, registry.url), client)) == ["license.revocation_ok"]
    assert len(registry.requests) == 3


def test_an_unreachable_registry_falls_back_to_a_fresh_cached_list(keys, registry, client):
    signed = licensed(keys, registry.url)
    cache_list(keys, registry.url, issued_at=NOW - timedelta(hours=2))
    registry.behaviour = "failing"
    found = revocation_findings(keys, signed, client)
    assert [(f.code, f.severity) for f in found] == [("license.revocation_ok", "warning")]
    assert "could not be reached" in found[0].message


# -- lying registries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("behaviour, words", [
    ("lying", "may sign it"),
    ("forging", "does not verify"),
    ("replay", "nonce"),
])
def test_a_status_that_does_not_verify_is_rejected_and_blocks(keys, registry, client, behaviour, words):
    registry.behaviour = behaviour
    cache_list(keys, registry.url)  # a good cached list must not rescue a forged live answer
    found = revocation_findings(keys, licensed(keys, registry.url), client)
    assert [(f.code, f.severity) for f in found] == [("license.revocation_untrusted", "error")]
    assert words in found[0].message


def test_a_status_signed_by_another_trusted_registry_is_rejected(keys, registry, client):
    Keyring().add(registry.other_key.public_key(), name="other-registry", roles=("registry",))
    registry.behaviour = "lying"  # signs with a key the keyring trusts, but not the one the license names
    found = revocation_findings(keys, licensed(keys, registry.url), client)
    assert codes(found) == ["license.revocation_untrusted"]
    assert "only " + keys.registry_id + " may sign it" in found[0].message


def test_a_status_signed_by_an_issuer_key_is_rejected(keys, registry, client):
    keys.keyring.remove("registry")
    keys.keyring.add(keys.registry.public_key(), name="registry-as-issuer", roles=("issuer",))
    found = revocation_findings(keys, licensed(keys, registry.url), client)
    assert codes(found) == ["license.revocation_untrusted"] and "not as registry" in found[0].message


# -- the cached list (offline) ------------------------------------------------------------------------


def test_refresh_fetches_verifies_and_caches_the_list(keys, registry, client):
    signed = licensed(keys, registry.url)
    registry.revoke(signed.document.doc_id)
    listing = refresh_list(client, RevocationStore(), keys.keyring, registry.url, key_id=keys.registry_id, now=NOW)
    assert [e.license_id for e in listing.entries] == [signed.document.doc_id]
    found = revocation_findings(keys, signed, None, now=NOW + timedelta(hours=1))  # offline
    assert codes(found) == ["license.revoked"] and "cached revocation list" in found[0].message


def test_offline_with_a_fresh_list_passes(keys):
    signed = licensed(keys, "https://registry.example.com/v1")
    cache_list(keys, "https://registry.example.com/v1", issued_at=NOW - timedelta(hours=23))
    assert [(f.code, f.severity) for f in revocation_findings(keys, signed, None)] == [
        ("license.revocation_ok", "info")]


def test_offline_past_the_maximum_age_fails_closed_and_says_how_to_refresh(keys):
    signed = licensed(keys, "https://registry.example.com/v1")
    cache_list(keys, "https://registry.example.com/v1", issued_at=NOW - timedelta(hours=25))
    found = revocation_findings(keys, signed, None)
    assert codes(found) == ["license.revocation_unknown"]
    message = found[0].message
    assert "25.0 h old" in message and "24 h allowed" in message
    assert "faceright license refresh --registry https://registry.example.com/v1" in message


def test_the_maximum_age_is_the_tds_setting(keys):
    signed = licensed(keys, "https://registry.example.com/v1")
    cache_list(keys, "https://registry.example.com/v1", issued_at=NOW - timedelta(hours=25))
    week = LicenseSettings(**{**FAST.__dict__, "revocation_max_age_hours": 168})
    assert codes(revocation_findings(keys, signed, None, settings=week)) == ["license.revocation_ok"]


def test_offline_without_a_cached_list_fails_closed(keys):
    found = revocation_findings(keys, licensed(keys, "https://registry.example.com/v1"), None)
    assert codes(found) == ["license.revocation_unknown"] and "no revocation list" in found[0].message


def test_one_verifier_sees_a_list_that_changed_between_two_checks_in_the_same_minute(keys):
    url = "https://registry.example.com/v1"
    signed = licensed(keys, url)
    cache_list(keys, url, issued_at=NOW - timedelta(hours=1))
    checker = verifier(keys, settings=FAST, client=None, now=NOW)   # as a publish holds one for every shot
    first = checker.verify(signed, shot(), DONOR)
    assert "license.revocation_ok" in codes(first)
    cache_list(keys, url, issued_at=NOW - timedelta(minutes=30),
               entries=[{"license_id": signed.document.doc_id, "state": "revoked", "reason": "withdrawn",
                         "effective_from": None}])
    assert "license.revoked" in codes(checker.verify(signed, shot(), DONOR))


@pytest.mark.parametrize("how", ["tampered", "wrong key", "another registry's list"])
def test_a_cached_list_that_does_not_verify_is_not_used(keys, how):
    url = "https://registry.example.com/v1"
    signed = licensed(keys, url)
    if how == "wrong key":
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        cache_list(keys, url, key=Ed25519PrivateKey.generate())
    elif how == "another registry's list":
        path = cache_list(keys, "https://other.example.com/v1")
        RevocationStore().save_list(url, path.read_bytes())
    else:
        path = cache_list(keys, url, entries=[{"license_id": signed.document.doc_id, "state": "revoked",
                                               "reason": "withdrawn", "effective_from": None}])
        env = json.loads(path.read_bytes())
        env["body"]["entries"] = []  # someone deletes the revocation from the cached file
        path.write_text(json.dumps(env))
    found = revocation_findings(keys, signed, None)
    assert codes(found) == ["license.revocation_unknown"] and "not usable" in found[0].message


def test_a_registry_cannot_roll_the_cache_back_to_an_older_list(keys, registry, client):
    store = RevocationStore()
    registry.list_issued_at = NOW
    refresh_list(client, store, keys.keyring, registry.url, now=NOW)
    registry.list_issued_at = NOW - timedelta(days=3)
    with pytest.raises(UntrustedRecordError, match="older than the cached one"):
        refresh_list(client, store, keys.keyring, registry.url, now=NOW)


def test_refresh_rejects_a_list_from_a_lying_registry(keys, registry, client):
    registry.behaviour = "lying"
    with pytest.raises(UntrustedRecordError, match="does not trust"):
        refresh_list(client, RevocationStore(), keys.keyring, registry.url)
    assert RevocationStore().load_list(registry.url) is None


# -- the client's rules ------------------------------------------------------------------------------


def test_plain_http_is_refused_beyond_loopback(client):
    with pytest.raises(RegistryError, match="registries are reached over https"):
        client.fetch_list("http://registry.example.com/v1")


def test_tls_verification_cannot_be_switched_off(session):
    session.verify = False
    with pytest.raises(RegistryError, match="TLS certificate verification must stay on"):
        RegistryClient(session, FAST)


def test_an_oversized_answer_is_cut_off(keys, registry, session):
    client = RegistryClient(session, LicenseSettings(**{**FAST.__dict__, "max_response_bytes": 100}))
    with pytest.raises(RegistryError, match="more than 100 bytes"):
        client.fetch_list(registry.url)


def test_a_refused_connection_is_retried_then_reported(session):
    pauses: list[float] = []
    client = RegistryClient(session, FAST, sleep=pauses.append)
    with pytest.raises(RegistryError, match="did not answer after 3 attempt"):
        client.fetch_list("http://127.0.0.1:9/v1")  # the discard port: nothing listens
    assert len(pauses) == 2


# -- the issuer's notices -----------------------------------------------------------------------------


def _notice(keys, signed, key=None, **changes):
    body = revocation.notice_body(signed.document, reason="consent withdrawn", effective_from=NOW - timedelta(hours=1),
                                  existing_cuts="must_remove", distribute_until=None, now=NOW)
    body.update(changes)
    return revocation.dumps_record(signing.envelope(body, key or keys.issuer))


def test_an_issuers_notice_revokes_even_offline_and_without_a_list(keys):
    signed = licensed(keys, "https://registry.example.com/v1")
    RevocationStore().save_notice(signed.document.doc_id, _notice(keys, signed))
    found = revocation_findings(keys, signed, None)
    assert codes(found) == ["license.revoked"] and "issuer's revocation notice" in found[0].message


def test_a_notice_not_signed_by_the_licenses_issuer_does_not_revoke_but_blocks(keys):
    signed = licensed(keys, "https://registry.example.com/v1")
    cache_list(keys, "https://registry.example.com/v1")
    other = keys.registry  # trusted, but not this license's issuer
    path = RevocationStore().save_notice(signed.document.doc_id, _notice(keys, signed, key=other))
    found = revocation_findings(keys, signed, None)
    assert codes(found) == ["license.revocation_notice_invalid", "license.revocation_ok"]
    assert found[0].severity == "error" and str(path) in found[0].message and "may sign it" in found[0].message


@pytest.mark.parametrize("how, words", [
    ("bad signature", "does not verify"),
    ("unknown key", "may sign it"),
    ("not JSON", "not valid JSON"),
])
def test_a_stored_notice_that_does_not_verify_blocks_and_names_its_file(keys, how, words):
    signed = licensed(keys, "https://registry.example.com/v1")
    cache_list(keys, "https://registry.example.com/v1")
    if how == "bad signature":
        env = json.loads(_notice(keys, signed))
        env["body"]["reason"] = "changed after signing"
        data = json.dumps(env).encode()
    elif how == "unknown key":
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        unknown = Ed25519PrivateKey.generate()
        env = json.loads(_notice(keys, signed, key=unknown))
        env["signature"]["key_id"] = signing.key_id(unknown.public_key())
        data = json.dumps(env).encode()
    else:
        data = b"revoked, trust me"
    path = RevocationStore().save_notice(signed.document.doc_id, data)
    found = revocation_findings(keys, signed, None)
    invalid = [f for f in found if f.code == "license.revocation_notice_invalid"]
    assert [f.severity for f in invalid] == ["error"]
    assert str(path) in invalid[0].message and words in invalid[0].message
    assert "ask the issuer" in invalid[0].message and "a TD removes" in invalid[0].message
    assert invalid[0].detail["path"] == str(path)


def test_revoking_publishes_the_notice_to_the_registry(keys, registry, client):
    signed = licensed(keys, registry.url)
    client.publish_notice(registry.url, _notice(keys, signed))
    assert registry.requests == ["POST /v1/revocations"]
    assert codes(revocation_findings(keys, signed, client)) == ["license.revoked"]


# -- clocks: lists and statuses dated in the future, stale lists ----------------------------------


def test_refresh_refuses_a_list_dated_in_the_future_and_caches_nothing(keys, registry, client):
    registry.list_issued_at = NOW + timedelta(days=30)
    with pytest.raises(revocation.FutureDatedRecordError) as exc:
        refresh_list(client, RevocationStore(), keys.keyring, registry.url, now=NOW)
    message = str(exc.value)
    assert registry.url in message and (NOW + timedelta(days=30)).isoformat() in message
    assert f"now {NOW.isoformat()}" in message and "clock_skew_s" in message
    assert RevocationStore().load_list(registry.url) is None


def test_a_future_dated_list_can_no_longer_hide_a_later_revocation(keys, registry, client):
    """The attack: a list dated a month ahead used to be cached, never aged, and made refresh refuse
    the correct list, so a license revoked afterwards verified as revocation_ok offline."""
    signed = licensed(keys, registry.url)

    def refresh_from_cron(now):  # a scheduled `license refresh`: an error is logged and the job goes on
        with contextlib.suppress(LicenseError):
            refresh_list(client, RevocationStore(), keys.keyring, registry.url, now=now)

    registry.list_issued_at = NOW + timedelta(days=30)
    refresh_from_cron(NOW)
    registry.revoke(signed.document.doc_id)  # revoked afterwards
    registry.list_issued_at = NOW + timedelta(minutes=10)
    refresh_from_cron(NOW + timedelta(minutes=10))
    later = NOW + timedelta(hours=1)
    assert codes(revocation_findings(keys, signed, None, now=later)) == ["license.revoked"]  # offline
    registry.behaviour = "failing"  # the status endpoint is down: the cached list answers
    assert codes(revocation_findings(keys, signed, client, now=later)) == ["license.revoked"]


def test_a_cached_list_dated_in_the_future_blocks_and_refresh_replaces_it(keys, registry, client):
    signed = licensed(keys, registry.url)
    future = NOW + timedelta(days=30)
    cache_list(keys, registry.url, issued_at=future)
    found = revocation_findings(keys, signed, None)
    assert [(f.code, f.severity) for f in found] == [("license.revocation_future_dated", "error")]
    assert future.isoformat() in found[0].message and NOW.isoformat() in found[0].message
    assert "faceright license refresh --registry" in found[0].message
    assert found[0].detail["issued_at"] == future.isoformat() and found[0].detail["clock_skew_s"] == 300
    registry.list_issued_at = NOW
    refresh_list(client, RevocationStore(), keys.keyring, registry.url, now=NOW)  # not "older than the cached one"
    assert codes(revocation_findings(keys, signed, None)) == ["license.revocation_ok"]


def test_a_list_a_little_ahead_is_within_the_clock_tolerance(keys):
    signed = licensed(keys, "https://registry.example.com/v1")
    cache_list(keys, "https://registry.example.com/v1", issued_at=NOW + timedelta(minutes=4))
    assert codes(revocation_findings(keys, signed, None)) == ["license.revocation_ok"]
    strict = LicenseSettings(**{**FAST.__dict__, "clock_skew_s": 60})
    assert codes(revocation_findings(keys, signed, None, settings=strict)) == ["license.revocation_future_dated"]


def test_a_status_dated_in_the_future_blocks(keys, registry, client):
    signed = licensed(keys, registry.url)
    cache_list(keys, registry.url, issued_at=NOW - timedelta(days=1, hours=1))  # must not rescue it
    found = revocation_findings(keys, signed, client, now=NOW - timedelta(days=1))  # the registry is a day ahead
    assert [(f.code, f.severity) for f in found] == [("license.revocation_future_dated", "error")]
    assert f"the status from {registry.url} is dated" in found[0].message and registry.url in found[0].message


def test_refresh_refuses_a_list_already_past_the_maximum_age(keys, registry, client):
    registry.list_issued_at = NOW - timedelta(hours=25)
    with pytest.raises(revocation.StaleRecordError) as exc:
        refresh_list(client, RevocationStore(), keys.keyring, registry.url, now=NOW)
    message = str(exc.value)
    assert "stale" in message and "25.0 h ago" in message and "24 h allowed" in message
    assert RevocationStore().load_list(registry.url) is None
