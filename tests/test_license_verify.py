"""Verification findings: each rule of the license gives its own stable code and a sentence."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest

from faceright.findings import Finding
from faceright.licenses.document import parse_signed
from faceright.licenses.identity import FaceEvidence
from faceright.licenses.settings import LicenseSettings
from faceright.licenses.verify import ShotContext
from test_license_support import (
    FAST, NOW, PERSON_A, Keys, blocking_codes, cache_list, codes, make_body, shot, sign_body, stub_vectors, verifier,
)

pytestmark = pytest.mark.hostside

VECTORS = stub_vectors()


@pytest.fixture
def keys() -> Keys:
    keys = Keys().trust()
    cache_list(keys)  # a fresh, signed revocation list: nothing revoked
    return keys


def donor(tag: int = PERSON_A) -> FaceEvidence:
    return FaceEvidence(VECTORS[tag], "stub-recogniser@1", f"donor{tag}.png")


def issue(keys: Keys, edit=None, *, release: bool = False):
    body = make_body(keys, release=release)
    if edit is not None:
        edit(body)
    return parse_signed(sign_body(body, keys.issuer))


def run(keys, signed, context: ShotContext | None = None, face=None, **kwargs):
    return verifier(keys, **kwargs).verify(signed, context or shot(), face if face is not None else donor())


def test_a_license_that_covers_the_shot_has_no_blocking_finding(keys):
    found = run(keys, issue(keys))
    assert blocking_codes(found) == []
    assert codes(found) == ["license.signature_ok", "license.revocation_ok", "license.identity_match"]
    assert all(isinstance(f, Finding) and f.message for f in found)


def test_a_plate_release_is_verified_the_same_way(keys):
    found = run(keys, issue(keys, release=True))
    assert blocking_codes(found) == []
    assert "plate release" in found[0].message


@pytest.mark.parametrize(
    "when, code",
    [
        (date(2025, 12, 31), "license.not_yet_valid"),
        (date(2026, 1, 1), None),
        (date(2026, 12, 31), None),
        (date(2027, 1, 1), "license.expired"),
    ],
)
def test_the_term_is_inclusive_calendar_days(keys, when, code):
    found = run(keys, issue(keys), shot(when=when), now=datetime.combine(when, datetime.min.time(), timezone.utc))
    term = [c for c in codes(found) if c in ("license.not_yet_valid", "license.expired")]
    assert term == ([code] if code else [])


@pytest.mark.parametrize(
    "when, code",
    [
        # the term is in UTC+08:00: 2026-12-31 ends at 2026-12-31T16:00Z
        (datetime(2026, 12, 31, 15, 59, tzinfo=timezone.utc), None),
        (datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc), "license.expired"),
        (datetime(2026, 12, 31, 11, 0, tzinfo=timezone(timedelta(hours=-5))), "license.expired"),  # 00:00 +08 Jan 1
        (datetime(2026, 12, 31, 10, 59, tzinfo=timezone(timedelta(hours=-5))), None),
        (datetime(2025, 12, 31, 16, 0, tzinfo=timezone.utc), None),  # 2026-01-01T00:00 +08
        (datetime(2025, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=9))), "license.not_yet_valid"),  # 22:00 +08
    ],
)
def test_a_publish_time_in_another_time_zone_is_converted_to_the_license_zone(keys, when, code):
    found = run(keys, issue(keys), shot(when=when), now=when)
    term = [c for c in codes(found) if c in ("license.not_yet_valid", "license.expired")]
    assert term == ([code] if code else [])


def test_a_naive_publish_time_is_refused():
    with pytest.raises(ValueError, match="UTC offset"):
        shot(when=datetime(2026, 6, 1, 9, 0))


@pytest.mark.parametrize(
    "changes, code, words",
    [
        ({"production": "PRJ-9999"}, "license.production_out_of_scope", "'PRJ-9999' is not in"),
        ({"episode": 81}, "license.production_out_of_scope", "episode 81"),
        ({"character": "Villain"}, "license.production_out_of_scope", "'Villain' is not a licensed role"),
        ({"territory": "US"}, "license.territory_out_of_scope", "territory 'US'"),
        ({"platform": "youtube"}, "license.platform_out_of_scope", "platform 'youtube'"),
        ({"medium": "advertising"}, "license.medium_out_of_scope", "medium 'advertising'"),
        ({"language": "en"}, "license.language_out_of_scope", "language 'en'"),
        ({"use": "de_aging"}, "license.use_not_allowed", "use 'de_aging'"),
        ({"licensee_code": "00" + "1" * 25}, "license.licensee_mismatch", "not to provider"),
        ({"content_tags": ("romance", "gambling")}, "license.prohibited_content", "tagged gambling"),
        ({"tier": "key"}, "license.tier_above_license", "tier 'key'"),
        ({"tier": None, "budget_cny": 900_000}, "license.tier_above_license", "tier 'key'"),
        ({"budget_cny": 850_000, "tier": "ordinary"}, "license.budget_above_cap", "850,000 CNY"),
    ],
)
def test_each_rule_gives_its_own_finding(keys, changes, code, words):
    found = run(keys, issue(keys), shot(**changes))
    hits = [f for f in found if f.code == code]
    assert hits and hits[0].severity == "error" and words in hits[0].message
    assert "license.signature_ok" in codes(found)


def test_an_episode_and_character_inside_the_scope_pass(keys):
    assert blocking_codes(run(keys, issue(keys), shot(episode=80, character="Lead", language="zh"))) == []


def test_a_special_topic_tag_makes_the_shot_a_key_tier_production(keys):
    def allow_police(body):
        body["uses"]["prohibited_content"].remove("police")

    found = run(keys, issue(keys, allow_police), shot(content_tags=("police",), tier="other"))
    assert blocking_codes(found) == ["license.tier_above_license"]
    assert "special topic: police" in found[1].message


def test_the_budget_tier_thresholds_come_from_the_settings(keys):
    settings = LicenseSettings(**{**FAST.__dict__, "key_tier_budget_cny": 3_000_000})
    found = run(keys, issue(keys), shot(tier=None, budget_cny=700_000), settings=settings)
    assert blocking_codes(found) == []


def test_an_unknown_tier_is_a_warning_not_a_pass_in_silence(keys):
    found = run(keys, issue(keys), shot(tier=None))
    assert [(f.code, f.severity) for f in found if f.code == "license.tier_unchecked"] == [
        ("license.tier_unchecked", "warning")]


@pytest.mark.parametrize(
    "member, value, words",
    [
        ("separate_consent", False, "separate consent"),
        ("consent_text_sha256", None, "hash of the consent text"),
        ("deep_synthesis_notice", False, "deep synthesis"),
        ("necessity_impact_notice", False, "necessity/impact"),
    ],
)
def test_missing_consent_evidence_blocks(keys, member, value, words):
    def edit(body):
        body["consent"][member] = value

    found = run(keys, issue(keys, edit))
    assert blocking_codes(found) == ["license.consent_missing"]
    assert words in next(f for f in found if f.blocks).message


def test_a_minor_without_a_guardian_blocks_and_with_one_passes(keys):
    def minor(body):
        body["licensor"]["is_minor"] = True

    def minor_with_guardian(body):
        minor(body)
        body["licensor"]["guardian"] = {"person_id": "person:guardian-1", "relation": "mother"}

    assert blocking_codes(run(keys, issue(keys, minor))) == ["license.guardian_missing"]
    assert blocking_codes(run(keys, issue(keys, minor_with_guardian))) == []


def test_no_face_given_is_a_blocking_finding(keys):
    found = verifier(keys).verify(issue(keys), shot(), None)
    assert blocking_codes(found) == ["license.identity_unchecked"]
    assert "donor image" in found[-1].message


def test_several_problems_are_all_reported_at_once(keys):
    found = run(keys, issue(keys), shot(territory="US", platform="youtube", when=date(2027, 3, 1)),
                now=datetime(2027, 3, 1, tzinfo=timezone.utc))
    assert {"license.expired", "license.territory_out_of_scope", "license.platform_out_of_scope"} <= set(
        blocking_codes(found))


def test_a_malformed_file_is_a_finding_from_verify_file(keys, tmp_path):
    path = tmp_path / "license.json"
    path.write_text('{"body": {"schema": ')
    found = verifier(keys).verify_file(path, shot(), donor())
    assert codes(found) == ["license.malformed"] and "truncated" in found[0].message


def test_findings_serialise_to_code_severity_message(keys):
    found = run(keys, issue(keys), shot(territory="US"))
    out = json.loads(json.dumps([f.to_json() for f in found]))
    assert all({"code", "severity", "message"} <= set(item) for item in out)
    assert any(item["code"] == "license.territory_out_of_scope" for item in out)


def test_the_licenses_table_of_the_config_sets_the_rules_and_refuses_unknown_keys():
    from faceright.errors import ConfigError
    from faceright.licenses.settings import license_settings

    s = license_settings({"licenses": {"revocation_max_age_hours": 48, "min_match_threshold": 0.45}})
    assert s.revocation_max_age_s == 48 * 3600 and s.min_match_threshold == 0.45
    with pytest.raises(ConfigError, match="unknown key.*revocation_max_age_days"):
        license_settings({"licenses": {"revocation_max_age_days": 2}})
    with pytest.raises(ConfigError, match="revocation_mode must be one of"):
        license_settings({"licenses": {"revocation_mode": "sometimes"}})


# -- content tags: normalised, and an unknown tag blocks -------------------------------------------


@pytest.mark.parametrize("tag", ["GAMBLING", " Gambling ", "gambling\t"])
def test_a_prohibited_tag_in_another_case_or_with_spaces_still_blocks(keys, tag):
    found = run(keys, issue(keys), shot(content_tags=(tag,)))
    assert blocking_codes(found) == ["license.prohibited_content"]
    assert "tagged gambling" in next(f for f in found if f.blocks).message


def test_an_unknown_content_tag_blocks_and_names_the_known_tags(keys):
    found = run(keys, issue(keys), shot(content_tags=("gamble", "romance")))
    unknown = [f for f in found if f.code == "license.content_tag_unknown"]
    assert [f.severity for f in unknown] == ["error"]
    assert "'gamble', 'romance'" in unknown[0].message
    assert "gambling" in unknown[0].message and "ai_mogai_of_classics" in unknown[0].message
    assert unknown[0].detail["tags"] == ["gamble", "romance"] and "police" in unknown[0].detail["known"]


def test_a_special_topic_in_another_case_makes_the_shot_a_key_tier_production(keys):
    def allow_police(body):
        body["uses"]["prohibited_content"].remove("police")

    found = run(keys, issue(keys, allow_police), shot(content_tags=(" POLICE",), tier="other"))
    assert blocking_codes(found) == ["license.tier_above_license"]
    assert "special topic: police" in next(f for f in found if f.blocks).message


def test_the_settings_special_topics_are_known_tags_too(keys):
    settings = LicenseSettings(**{**FAST.__dict__, "special_topics": ("historical_figures",)})
    found = run(keys, issue(keys), shot(content_tags=("Historical_Figures",), tier="other"), settings=settings)
    assert blocking_codes(found) == ["license.tier_above_license"]


# -- consent dated after the use -------------------------------------------------------------------


def _consent_signed(at: str):
    def edit(body):
        body["consent"]["signed_at"] = at
    return edit


def test_consent_signed_after_the_publish_date_blocks(keys):
    found = run(keys, issue(keys, _consent_signed("2026-06-02T10:00:00+08:00")), shot(when=date(2026, 6, 1)))
    assert blocking_codes(found) == ["license.consent_after_use"]
    hit = next(f for f in found if f.blocks)
    assert "2026-06-02T10:00:00+08:00" in hit.message and "2026-06-01 (UTC+08:00)" in hit.message
    assert hit.detail == {"signed_at": "2026-06-02T10:00:00+08:00", "publish": "2026-06-01"}


def test_consent_signed_after_the_publish_time_blocks_but_earlier_the_same_day_passes(keys):
    signed = issue(keys, _consent_signed("2026-06-01T10:00:00+08:00"))
    before = datetime(2026, 6, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    assert blocking_codes(run(keys, signed, shot(when=before), now=NOW)) == ["license.consent_after_use"]
    assert blocking_codes(run(keys, signed, shot(when=before + timedelta(hours=2)), now=NOW)) == []
    assert blocking_codes(run(keys, signed, shot(when=date(2026, 6, 1)))) == []  # a date is the whole day
