"""Does this signed document cover this shot? The answer is a list of findings, never a bool.

Order: trust first (the signer's key is in the keyring for the ``issuer`` role, the body names
that key, the signature verifies); a document that is not trusted gets no further findings,
because its scope would be the forger's word. Then term, scope, uses, prohibited content,
reach, consent, revocation and the identity of the face actually used.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from faceright.findings import Finding
from faceright.usage import Usage

from . import document as doc_mod
from .document import PROHIBITED_CATEGORIES, Document, SignedDocument, Tier, TIERS
from .identity import FaceEvidence, check_identity
from .keyring import Keyring
from .revocation import RevocationChecker
from .settings import LicenseSettings
from .signing import verify_signature
from .strictjson import DocumentFormatError

log = logging.getLogger(__name__)

#: the name this module has always used for a FaceShot's usage
ShotContext = Usage


def _normal_tag(tag: str) -> str:
    """A content tag as compared with the category list: no surrounding whitespace, lower case."""
    return tag.strip().lower()


@dataclass
class Verifier:
    """Everything verification needs besides the document and the shot: trust, settings, revocation."""

    keyring: Keyring
    settings: LicenseSettings
    revocation: RevocationChecker
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    #: signatures already checked: id(signed) -> (signed, key id, valid). The document is held, so its
    #: id is not reused; a long timeline names the same few (cached) documents thousands of times
    _signatures: dict[int, tuple[Any, str, bool]] = field(default_factory=dict, repr=False, compare=False)

    def verify(self, signed: SignedDocument, shot: ShotContext, face: FaceEvidence | Finding | None) -> list[Finding]:
        """All findings for ``signed`` used in ``shot`` with the face ``face`` (the donor's, or the plate's)."""
        now: datetime = self.clock()
        trust = self._trust(signed, now)
        if any(f.blocks for f in trust) and not any(f.code == "license.key_expired" for f in trust):
            return trust
        d = signed.document
        out = list(trust)
        out += self._term(d, shot)
        out += self._scope(d, shot)
        out += self._content(d, shot)
        out += self._consent(d, shot)
        when = max(now, shot.instant(d.term.zone))
        out += self.revocation.check(d, when=when, now=now)
        out += self._identity(d, face)
        return out

    # -- trust --------------------------------------------------------------------------------

    def _trust(self, signed: SignedDocument, now: datetime) -> list[Finding]:
        d, sig = signed.document, signed.signature
        kind = d.KIND
        detail = {"key_id": sig.key_id}
        if d.issuer.key_id != sig.key_id:
            return [Finding("license.issuer_mismatch", "error",
                            f"the {kind} says it is issued by key {d.issuer.key_id} but is signed by {sig.key_id}",
                            {**detail, "issuer_key_id": d.issuer.key_id})]
        trusted = self.keyring.get(sig.key_id)
        if trusted is None:
            names = ", ".join(k.name for k in self.keyring.keys()) or "none"
            return [Finding("license.key_unknown", "error",
                            f"the {kind} is signed by key {sig.key_id} ({d.issuer.name!r}), which this keyring "
                            f"does not trust (trusted: {names}); a TD adds issuers with "
                            "`faceright keyring add PUBLIC_KEY.pem --name NAME`", detail)]
        if "issuer" not in trusted.roles:
            return [Finding("license.key_not_issuer", "error",
                            f"the {kind} is signed by {trusted.name!r}, which the keyring trusts only as "
                            f"{', '.join(trusted.roles)}, not as an issuer of licenses", detail)]
        if not self._signature_valid(signed, trusted):
            return [Finding("license.signature_invalid", "error",
                            f"the {kind}'s signature does not verify with {trusted.name!r}'s key: the document "
                            "was changed after signing, or signed by another key", detail)]
        if trusted.expired(now):
            return [Finding("license.key_expired", "error",
                            f"the {kind} is signed by {trusted.name!r}, whose trust expired on "
                            f"{trusted.expires_at.isoformat() if trusted.expires_at else '?'}; "
                            "ask the issuer for a re-issue with a current key",
                            {**detail, "expires_at": trusted.expires_at.isoformat() if trusted.expires_at else None})]
        return [Finding("license.signature_ok", "info",
                        f"{kind} {d.doc_id} is signed by {trusted.name!r} ({sig.key_id})", detail)]

    def _signature_valid(self, signed: SignedDocument, trusted: Any) -> bool:
        known = self._signatures.get(id(signed))
        if known is not None and known[0] is signed and known[1] == trusted.key_id:
            return known[2]
        valid = verify_signature(signed.body, signed.signature, trusted.public_key)
        if len(self._signatures) > 4096:
            self._signatures.clear()
        self._signatures[id(signed)] = (signed, trusted.key_id, valid)
        return valid

    # -- term and scope -------------------------------------------------------------------------

    def _term(self, d: Document, shot: ShotContext) -> list[Finding]:
        day = shot.local_date(d.term.zone)
        detail = {"date": day.isoformat(), "start": d.term.start.isoformat(), "end": d.term.end.isoformat(),
                  "utc_offset": d.term.utc_offset}
        if day < d.term.start:
            return [Finding("license.not_yet_valid", "error",
                            f"the {d.KIND} starts on {d.term.start} (UTC{d.term.utc_offset}); the shot is for {day}",
                            detail)]
        if day > d.term.end:
            return [Finding("license.expired", "error",
                            f"the {d.KIND} ended on {d.term.end} (UTC{d.term.utc_offset}); the shot is for {day}",
                            detail)]
        return []

    def _scope(self, d: Document, shot: ShotContext) -> list[Finding]:
        out: list[Finding] = []
        kind = d.KIND
        production = next((p for p in d.scope.productions if p.project_id == shot.production), None)
        if production is None:
            listed = ", ".join(p.project_id for p in d.scope.productions)
            out.append(Finding("license.production_out_of_scope", "error",
                               f"production {shot.production!r} is not in the {kind}'s scope ({listed})",
                               {"production": shot.production, "licensed": listed}))
        else:
            if shot.episode is not None and not production.covers_episode(shot.episode):
                out.append(Finding("license.production_out_of_scope", "error",
                                   f"episode {shot.episode} of {shot.production!r} is outside the licensed "
                                   f"episodes {production.episodes}", {"episode": shot.episode}))
            if shot.character is not None and production.characters and shot.character not in production.characters:
                out.append(Finding("license.production_out_of_scope", "error",
                                   f"character {shot.character!r} is not a licensed role in {shot.production!r} "
                                   f"({', '.join(production.characters)})", {"character": shot.character}))
        checks = (
            ("territory", shot.territory, d.scope.territories, "license.territory_out_of_scope"),
            ("platform", shot.platform, d.scope.platforms, "license.platform_out_of_scope"),
            ("medium", shot.medium, d.scope.media, "license.medium_out_of_scope"),
        )
        for what, value, licensed, code in checks:
            if value not in licensed:
                out.append(Finding(code, "error",
                                   f"{what} {value!r} is not licensed by the {kind} (licensed: {', '.join(licensed)})",
                                   {what: value, "licensed": list(licensed)}))
        if shot.language is not None and shot.language not in d.scope.languages:
            out.append(Finding("license.language_out_of_scope", "error",
                               f"language {shot.language!r} is not licensed by the {kind} "
                               f"(licensed: {', '.join(d.scope.languages) or 'none'})", {"language": shot.language}))
        if shot.use not in d.uses.allowed:
            out.append(Finding("license.use_not_allowed", "error",
                               f"use {shot.use!r} is not allowed by the {kind} (allowed: {', '.join(d.uses.allowed)})",
                               {"use": shot.use}))
        if shot.licensee_code is not None and shot.licensee_code != d.licensee.aigc_provider_code:
            out.append(Finding("license.licensee_mismatch", "error",
                               f"the {kind} is granted to {d.licensee.name!r} ({d.licensee.aigc_provider_code}), "
                               f"not to provider {shot.licensee_code}", {"licensee_code": shot.licensee_code}))
        return out

    # -- content and reach ----------------------------------------------------------------------

    def shot_tier(self, shot: ShotContext) -> Tier | None:
        """The shot's NRTA review tier: the highest of the declared tier, the budget's tier and special topics."""
        s = self.settings
        candidates: list[Tier] = []
        if shot.tier is not None:
            candidates.append(shot.tier)
        if shot.budget_cny is not None:
            if shot.budget_cny >= s.key_tier_budget_cny:
                candidates.append("key")
            elif shot.budget_cny >= s.ordinary_tier_budget_cny:
                candidates.append("ordinary")
            else:
                candidates.append("other")
        if self._tags(shot) & self._special_topics():
            candidates.append("key")
        return max(candidates, key=TIERS.index) if candidates else None

    @staticmethod
    def _tags(shot: ShotContext) -> set[str]:
        """The shot's content tags as compared: without surrounding whitespace, in lower case."""
        return {_normal_tag(t) for t in shot.content_tags}

    def _special_topics(self) -> set[str]:
        return {_normal_tag(t) for t in self.settings.special_topics}

    def _content(self, d: Document, shot: ShotContext) -> list[Finding]:
        out: list[Finding] = []
        kind = d.KIND
        known = tuple(dict.fromkeys((*PROHIBITED_CATEGORIES, *sorted(self._special_topics()))))
        unknown = [t for t in shot.content_tags if _normal_tag(t) not in known]
        if unknown:
            out.append(Finding("license.content_tag_unknown", "error",
                               f"the shot's content tag(s) {', '.join(map(repr, unknown))} are not known, so the "
                               f"{kind}'s prohibited content cannot be checked against them; tag the shot with "
                               f"these only: {', '.join(known)}", {"tags": unknown, "known": list(known)}))
        hit = sorted(self._tags(shot) & set(d.uses.prohibited_content))
        if hit:
            out.append(Finding("license.prohibited_content", "error",
                               f"the shot is tagged {', '.join(hit)}, content the {kind} prohibits",
                               {"tags": hit}))
        tier = self.shot_tier(shot)
        if tier is None:
            out.append(Finding("license.tier_unchecked", "warning",
                               "the shot's review tier is unknown (give its tier or budget), so the licensed "
                               f"reach tier {d.reach.tier!r} was not compared", {}))
        elif TIERS.index(tier) > TIERS.index(d.reach.tier):
            special = sorted(self._tags(shot) & self._special_topics())
            why = f" (special topic: {', '.join(special)})" if special and tier == "key" else ""
            out.append(Finding("license.tier_above_license", "error",
                               f"the shot is in review tier {tier!r}{why}, above the {kind}'s tier {d.reach.tier!r}",
                               {"tier": tier, "licensed_tier": d.reach.tier}))
        cap = d.reach.max_budget_cny
        if cap is not None and shot.budget_cny is not None and shot.budget_cny > cap:
            out.append(Finding("license.budget_above_cap", "error",
                               f"the production budget {shot.budget_cny:,} CNY is above the {kind}'s cap {cap:,} CNY",
                               {"budget_cny": shot.budget_cny, "max_budget_cny": cap}))
        return out

    # -- consent ------------------------------------------------------------------------------

    def _consent(self, d: Document, shot: ShotContext) -> list[Finding]:
        c, out = d.consent, []
        if isinstance(shot.when, datetime):
            late, publish = c.signed_at > shot.when, shot.when.isoformat()
        else:  # a publish date is a whole day: consent signed later that same day is not after it
            late = c.signed_at.astimezone(d.term.zone).date() > shot.when
            publish = f"{shot.when.isoformat()} (UTC{d.term.utc_offset})"
        if late:
            out.append(Finding("license.consent_after_use", "error",
                               f"the {d.KIND}'s consent was signed {c.signed_at.isoformat()}, after the shot's "
                               f"publish date {publish}: a face may be used only after its person consents; ask "
                               "the issuer for the consent evidence, or correct the publish date",
                               {"signed_at": c.signed_at.isoformat(), "publish": shot.when.isoformat()}))
        missing = []
        if not c.separate_consent:
            missing.append("separate consent (PIPL Art. 29) is not recorded")
        if c.consent_text_sha256 is None:
            missing.append("the hash of the consent text is missing")
        if not c.deep_synthesis_notice:
            missing.append("the person was not notified of the deep synthesis (Deep Synthesis Provisions Art. 14)")
        if not c.necessity_impact_notice:
            missing.append("the necessity/impact notice (PIPL Art. 30) is not recorded")
        if missing:
            out.append(Finding("license.consent_missing", "error",
                               f"the {d.KIND}'s consent evidence is incomplete: {'; '.join(missing)}",
                               {"missing": missing}))
        if d.subject.is_minor and d.subject.guardian is None:
            out.append(Finding("license.guardian_missing", "error",
                               f"the {d.KIND}'s person is a minor and no guardian's consent is recorded (PIPL Art. 31)",
                               {}))
        return out

    # -- identity -----------------------------------------------------------------------------

    def _identity(self, d: Document, face: FaceEvidence | Finding | None) -> list[Finding]:
        what = "plate" if isinstance(d, doc_mod.PlateRelease) else "donor"
        if face is None:
            return [Finding("license.identity_unchecked", "error",
                            f"no {what} face was given, so nothing shows that the face used is the one this "
                            f"{d.KIND} covers (give the {what} image)", {})]
        if isinstance(face, Finding):
            return [face]
        return check_identity(d.reference, face, kind=d.KIND, min_threshold=self.settings.min_match_threshold)

    # -- files --------------------------------------------------------------------------------

    def verify_file(self, path: Path, shot: ShotContext, face: FaceEvidence | Finding | None) -> list[Finding]:
        """As :meth:`verify`, but a file that cannot be read or parsed is a ``license.malformed`` finding."""
        try:
            signed = doc_mod.load_signed(path, max_bytes=self.settings.max_document_bytes)
        except DocumentFormatError as exc:
            return [Finding("license.malformed", "error", f"cannot use {path}: {exc}", {"path": str(path)})]
        return self.verify(signed, shot, face)
