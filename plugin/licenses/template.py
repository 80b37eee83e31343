"""Example bodies a platform fills in: every member present, with realistic values.

``faceright license issue`` stamps ``issuer.key_id`` and ``issued_at`` itself, and fills the
likeness reference from ``--reference-image`` files; everything else is the platform's.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Any

from .document import LikenessLicense, PlateRelease, SignedTerms

#: the placeholder ``issue`` replaces with the signing key's id
ISSUER_KEY_PLACEHOLDER = "filled in by faceright license issue"


def empty_reference(threshold: float = 0.5) -> dict[str, Any]:
    """An unfilled likeness reference: ``issue --reference-image`` (or ``license reference``) fills it."""
    return {"model_id": "", "dim": 0, "embedding": "", "threshold": threshold, "images": []}


def _common(today: date) -> dict[str, Any]:
    leap_day = today.month == 2 and today.day == 29
    end = date(today.year + 1, 2, 28) if leap_day else today.replace(year=today.year + 1)
    return {
        "version": 1,
        "supersedes": None,
        "issuer": {"name": "Example Likeness Platform", "key_id": ISSUER_KEY_PLACEHOLDER},
        "issued_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "licensee": {
            "name": "Example Studio Ltd.",
            "uscc": "91110000MA0000000X",
            "aigc_provider_code": "0011" + "91110000MA0000000X" + "10002",
        },
        "scope": {
            "productions": [
                {
                    "project_id": "PRJ-0001",
                    "title": "Example micro-drama",
                    "nrta_record_no": None,
                    "episodes": "1-80",
                    "characters": ["Lead"],
                }
            ],
            "territories": ["CN"],
            "platforms": ["hongguo", "douyin"],
            "media": ["episode", "trailer"],
            "languages": ["zh"],
        },
        "term": {"start": today.isoformat(), "end": end.isoformat(), "utc_offset": "+08:00"},
        "uses": {
            "allowed": ["face_replacement"],
            "prohibited_content": [
                "political", "military", "diplomacy", "national_security", "united_front", "ethnicity",
                "religion", "judicial", "police", "sexual", "gore_violence", "gambling", "fraud_scam",
                "medical_or_financial_endorsement", "defamation_uglification", "minors_harm",
                "ai_mogai_of_classics",
            ],
        },
        "reach": {"tier": "ordinary", "max_budget_cny": 800000, "max_views": None, "monetization": True},
        "sublicensing": {"allowed": False, "permitted": []},
        "consent": {
            "separate_consent": True,
            "consent_text_sha256": "0" * 64,
            "consent_version": "1",
            "signed_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
            "method": "e-sign",
            "deep_synthesis_notice": True,
            "necessity_impact_notice": True,
        },
        "revocation": {"registry_url": "https://registry.example.com/v1", "registry_key_id": "ed25519:" + "0" * 32},
    }


def _person(person_id: str) -> dict[str, Any]:
    return {"person_id": person_id, "jurisdiction": "CN", "is_minor": False, "guardian": None}


def _template(cls: type[SignedTerms], person_id: str, today: date | None) -> dict[str, Any]:
    """A body of ``cls``'s kind: its schema, id, person and reference under that kind's member names."""
    today = date.today() if today is None else today
    common = _common(today)
    return {
        "schema": cls.SCHEMA,
        cls.ID_FIELD: f"urn:uuid:{uuid.uuid4()}",
        **{k: common[k] for k in ("version", "supersedes", "issuer", "issued_at")},
        cls.SUBJECT_FIELD: _person(person_id),
        cls.REFERENCE_FIELD: empty_reference(),
        **{k: common[k] for k in ("licensee", "scope", "term", "uses", "reach", "sublicensing", "consent",
                                  "revocation")},
    }


def license_template(today: date | None = None) -> dict[str, Any]:
    return _template(LikenessLicense, "person:example-licensor-0001", today)


def release_template(today: date | None = None) -> dict[str, Any]:
    return _template(PlateRelease, "person:example-plate-performer-0001", today)
