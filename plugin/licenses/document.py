"""The two signed documents, their schema, and strict parsing into frozen dataclasses.

A **likeness license** (``faceright.likeness-license/1``) lets a licensee put the
licensor's face on screen; a **plate release** (``faceright.plate-release/1``) is the
consent of the performer whose face in the plate is replaced. Both share one shape
(compliance.md §4, "LikenessLicense v0"): who issued it, whose face (a pseudonymous person
plus a likeness reference: embedding, model id, threshold, hashes of the reference images),
the licensee and its AIGC provider code, the scope (productions, territories, platforms,
media, languages), the term, allowed uses and prohibited content, the reach tier and budget
cap, sublicensing, the consent evidence and the revocation registry.

Parsing is strict: every member is known and of its type, required members are present,
optional ones (``X | None``) may be omitted or null. Any deviation is a
:class:`~faceright.licenses.strictjson.DocumentFormatError` naming the JSON path.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import math
import struct
import re
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Mapping, Union
from urllib.parse import urlsplit

from faceright.compat import parse_instant

from . import signing, strictjson
from .strictjson import DocumentFormatError

if TYPE_CHECKING:
    import numpy as np

LICENSE_SCHEMA = "faceright.likeness-license/1"
RELEASE_SCHEMA = "faceright.plate-release/1"

from faceright.usage import MEDIA, TIERS, USES, Medium, Tier, Use  # noqa: F401  (the usage vocabulary)
ProhibitedCategory = Literal[
    "political", "military", "diplomacy", "national_security", "united_front", "ethnicity", "religion",
    "judicial", "police", "sexual", "gore_violence", "gambling", "fraud_scam",
    "medical_or_financial_endorsement", "defamation_uglification", "minors_harm", "ai_mogai_of_classics",
]
PROHIBITED_CATEGORIES: tuple[ProhibitedCategory, ...] = typing.get_args(ProhibitedCategory)
ConsentMethod = Literal["e-sign", "video-attestation", "wet-ink"]

_SHA256 = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"ed25519:[0-9a-f]{32}")
_PROVIDER_CODE = re.compile(r"00[0-9A-Z]{25}")
_USCC = re.compile(r"[0-9A-Z]{18}")
_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EPISODES = re.compile(r"\d+(-\d+)?(,\d+(-\d+)?)*")


def _nonempty(value: str, name: str) -> None:
    if not value.strip():
        raise ValueError(f"{name} must not be empty")


def _unique(values: tuple[Any, ...], name: str) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"{name} lists a value twice")


@dataclass(frozen=True)
class Issuer:
    name: str
    key_id: str  #: the key that must have signed the document; ``issue`` fills it in

    def __post_init__(self) -> None:
        _nonempty(self.name, "name")
        if not _KEY_ID.fullmatch(self.key_id):
            raise ValueError(f"key_id must look like ed25519:<32 hex digits>, got {self.key_id!r}")


@dataclass(frozen=True)
class Guardian:
    person_id: str
    relation: str


@dataclass(frozen=True)
class Person:
    """A pseudonymous person: the platform keeps the legal identity, the document only its id."""

    person_id: str
    jurisdiction: str
    is_minor: bool
    guardian: Guardian | None

    def __post_init__(self) -> None:
        _nonempty(self.person_id, "person_id")


@dataclass(frozen=True)
class ReferenceImage:
    sha256: str
    name: str

    def __post_init__(self) -> None:
        if not _SHA256.fullmatch(self.sha256):
            raise ValueError(f"sha256 must be 64 lower-case hex digits, got {self.sha256!r}")


@dataclass(frozen=True)
class LikenessReference:
    """Whose face: an identity vector, the model that made it, the match threshold, the source images."""

    model_id: str
    dim: int
    embedding: str  #: base64 of ``dim`` little-endian float32 values
    threshold: float  #: cosine similarity a face must reach to be this person
    images: tuple[ReferenceImage, ...]

    def __post_init__(self) -> None:
        if not self.model_id.strip() or not self.embedding:
            raise ValueError(
                "the likeness reference is not filled in: make it from reference images with "
                "`faceright license reference IMAGE...` or `faceright license issue --reference-image IMAGE`"
            )
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if not self.images:
            raise ValueError("images must list the sha256 of at least one reference image")
        _unique(tuple(i.sha256 for i in self.images), "images")
        self._raw_vector()  # decoding it validates dim, base64 and norm

    def _raw_vector(self) -> bytes:
        """The embedding's little-endian float32 bytes, checked (without numpy: parsing a
        document must not need it)."""
        try:
            raw = base64.b64decode(self.embedding.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise ValueError("embedding is not base64") from exc
        if self.dim <= 0 or len(raw) != 4 * self.dim:
            raise ValueError(f"embedding holds {len(raw)} bytes, expected {4 * self.dim} for dim {self.dim}")
        values = struct.unpack(f"<{self.dim}f", raw)
        norm = math.sqrt(math.fsum(v * v for v in values)) if all(map(math.isfinite, values)) else math.nan
        if not abs(norm - 1.0) <= 1e-3:
            raise ValueError(f"embedding must be an L2-normalised vector (its length is {norm:.4g}, not 1)")
        return raw

    @property
    def vector(self) -> np.ndarray:
        import numpy as np

        return np.frombuffer(self._raw_vector(), dtype="<f4").astype(np.float32)


@dataclass(frozen=True)
class Licensee:
    name: str
    uscc: str | None  #: 统一社会信用代码, 18 characters
    aigc_provider_code: str  #: 27-character code (TC260-PG-20252A); goes into the AIGC label's ContentProducer

    def __post_init__(self) -> None:
        _nonempty(self.name, "name")
        if self.uscc is not None and not _USCC.fullmatch(self.uscc):
            raise ValueError(f"uscc must be 18 digits or upper-case letters, got {self.uscc!r}")
        if not _PROVIDER_CODE.fullmatch(self.aigc_provider_code):
            raise ValueError(
                "aigc_provider_code must be 27 digits/upper-case letters starting with '00', "
                f"got {self.aigc_provider_code!r}"
            )


@dataclass(frozen=True)
class Production:
    project_id: str
    title: str
    nrta_record_no: str | None
    episodes: str | None  #: "1-80" or "1-10,12"; None = every episode
    characters: tuple[str, ...]  #: empty = any character

    def __post_init__(self) -> None:
        _nonempty(self.project_id, "project_id")
        if self.episodes is not None:
            if not _EPISODES.fullmatch(self.episodes):
                raise ValueError(f"episodes must look like '1-80' or '1-10,12', got {self.episodes!r}")
            for part in self.episodes.split(","):
                lo, _, hi = part.partition("-")
                if hi and int(hi) < int(lo):
                    raise ValueError(f"episodes range {part!r} runs backwards")

    def covers_episode(self, episode: int) -> bool:
        if self.episodes is None:
            return True
        for part in self.episodes.split(","):
            lo, _, hi = part.partition("-")
            if int(lo) <= episode <= int(hi or lo):
                return True
        return False


@dataclass(frozen=True)
class Scope:
    productions: tuple[Production, ...]
    territories: tuple[str, ...]  #: ISO 3166-1 alpha-2
    platforms: tuple[str, ...]
    media: tuple[Medium, ...]
    languages: tuple[str, ...]

    def __post_init__(self) -> None:
        for name in ("productions", "territories", "platforms", "media"):
            if not getattr(self, name):
                raise ValueError(f"{name} must list at least one entry (a license names its intended use)")
        _unique(tuple(p.project_id for p in self.productions), "productions")
        for name in ("territories", "platforms", "media", "languages"):
            _unique(getattr(self, name), name)


def parse_utc_offset(text: str) -> timezone:
    match = _OFFSET.fullmatch(text)
    if not match:
        raise ValueError(f"utc_offset must look like +08:00, got {text!r}")
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3))
    if hours > 14 or minutes > 59:
        raise ValueError(f"utc_offset {text!r} is out of range")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if sign == "-" else delta)


@dataclass(frozen=True)
class Term:
    """Calendar dates, both inclusive, in the zone of ``utc_offset`` (contracts are written in local dates)."""

    start: date
    end: date
    utc_offset: str

    def __post_init__(self) -> None:
        parse_utc_offset(self.utc_offset)
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")

    @property
    def zone(self) -> timezone:
        return parse_utc_offset(self.utc_offset)


@dataclass(frozen=True)
class Uses:
    allowed: tuple[Use, ...]
    prohibited_content: tuple[ProhibitedCategory, ...]

    def __post_init__(self) -> None:
        if not self.allowed:
            raise ValueError("allowed must list at least one use")
        _unique(self.allowed, "allowed")
        _unique(self.prohibited_content, "prohibited_content")


@dataclass(frozen=True)
class Reach:
    tier: Tier  #: the highest NRTA review tier the likeness may appear in
    max_budget_cny: int | None
    max_views: int | None
    monetization: bool


@dataclass(frozen=True)
class Sublicensing:
    allowed: bool
    permitted: tuple[str, ...]


@dataclass(frozen=True)
class Consent:
    """Evidence of the person's separate consent (PIPL Art. 29, Deep Synthesis Art. 14)."""

    separate_consent: bool
    consent_text_sha256: str | None
    consent_version: str
    signed_at: datetime
    method: ConsentMethod
    deep_synthesis_notice: bool
    necessity_impact_notice: bool

    def __post_init__(self) -> None:
        if self.consent_text_sha256 is not None and not _SHA256.fullmatch(self.consent_text_sha256):
            raise ValueError(f"consent_text_sha256 must be 64 lower-case hex digits, got {self.consent_text_sha256!r}")


@dataclass(frozen=True)
class Revocation:
    """Where the live status is asked, and the key the registry signs statuses with."""

    registry_url: str
    registry_key_id: str

    def __post_init__(self) -> None:
        parts = urlsplit(self.registry_url)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"registry_url must be an https:// URL without query, got {self.registry_url!r}")
        if not _KEY_ID.fullmatch(self.registry_key_id):
            raise ValueError(f"registry_key_id must look like ed25519:<32 hex digits>, got {self.registry_key_id!r}")


@dataclass(frozen=True)
class SignedTerms:
    """What a likeness license and a plate release share: who issued it to whom, for what use,
    where, until when, with which consent, revocable where. Each kind adds its id, its person
    and that person's face reference, under its own member names (``ID_FIELD`` ...)."""

    KIND: ClassVar[str]
    SCHEMA: ClassVar[str]
    ID_FIELD: ClassVar[str]
    SUBJECT_FIELD: ClassVar[str]
    REFERENCE_FIELD: ClassVar[str]

    version: int
    supersedes: str | None
    issuer: Issuer
    issued_at: datetime
    licensee: Licensee
    scope: Scope
    term: Term
    uses: Uses
    reach: Reach
    sublicensing: Sublicensing
    consent: Consent
    revocation: Revocation

    def __post_init__(self) -> None:
        _check_document_id(self.doc_id, self.ID_FIELD)
        if self.version < 1:
            raise ValueError("version starts at 1")

    @property
    def doc_id(self) -> str:
        return getattr(self, self.ID_FIELD)

    @property
    def subject(self) -> Person:
        return getattr(self, self.SUBJECT_FIELD)

    @property
    def reference(self) -> LikenessReference:
        return getattr(self, self.REFERENCE_FIELD)


@dataclass(frozen=True)
class LikenessLicense(SignedTerms):
    """The donor's face, licensed to a studio."""

    KIND: ClassVar[str] = "likeness license"
    SCHEMA: ClassVar[str] = LICENSE_SCHEMA
    ID_FIELD: ClassVar[str] = "license_id"
    SUBJECT_FIELD: ClassVar[str] = "licensor"
    REFERENCE_FIELD: ClassVar[str] = "likeness"

    schema: Literal["faceright.likeness-license/1"]
    license_id: str
    licensor: Person
    likeness: LikenessReference


@dataclass(frozen=True)
class PlateRelease(SignedTerms):
    """The plate performer's consent that their face in the plate is replaced."""

    KIND: ClassVar[str] = "plate release"
    SCHEMA: ClassVar[str] = RELEASE_SCHEMA
    ID_FIELD: ClassVar[str] = "release_id"
    SUBJECT_FIELD: ClassVar[str] = "performer"
    REFERENCE_FIELD: ClassVar[str] = "face"

    schema: Literal["faceright.plate-release/1"]
    release_id: str
    performer: Person
    face: LikenessReference


Document = Union[LikenessLicense, PlateRelease]
DOCUMENT_TYPES: Mapping[str, type[LikenessLicense] | type[PlateRelease]] = MappingProxyType({
    LICENSE_SCHEMA: LikenessLicense,
    RELEASE_SCHEMA: PlateRelease,
})


def _check_document_id(value: str, name: str) -> None:
    if not re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", value):
        raise ValueError(f"{name} must be a lower-case urn:uuid:..., got {value!r}")


# -- strict conversion from JSON ---------------------------------------------------------------


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def parse_datetime(value: str) -> datetime:
    """RFC 3339 date-time with an explicit offset (``Z`` or ``+08:00``); a naive time is ambiguous."""
    if "T" not in value:
        raise ValueError(f"expected a date-time like 2026-01-01T09:00:00+08:00, got {value!r}")
    try:
        parsed = parse_instant(value)
    except ValueError as exc:
        raise ValueError(f"not an RFC 3339 date-time: {value!r}") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"date-time {value!r} has no UTC offset; write Z or +08:00, a naive time is ambiguous")
    return parsed


def parse_date(value: str) -> date:
    if not _DATE.fullmatch(value):
        raise ValueError(f"expected a calendar date YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"not a valid date: {value!r}") from exc


def convert(cls: Any, value: Any, path: str) -> Any:
    """Build ``cls`` (a dataclass or a typing form) from a JSON value, refusing anything off-schema."""
    origin = typing.get_origin(cls)
    args = typing.get_args(cls)
    if origin in (Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise DocumentFormatError(f"{path} must not be null")
        (inner,) = [a for a in args if a is not type(None)]
        return convert(inner, value, path)
    if value is None:
        raise DocumentFormatError(f"{path} must not be null")
    if origin is Literal:
        if not isinstance(value, str) or value not in args:
            raise DocumentFormatError(f"{path} must be one of {', '.join(map(str, args))}; got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise DocumentFormatError(f"{path} must be a list, got {_json_type(value)}")
        return tuple(convert(args[0], item, f"{path}[{i}]") for i, item in enumerate(value))
    if dataclasses.is_dataclass(cls):
        return _convert_dataclass(cls, value, path)
    if cls is str:
        if not isinstance(value, str):
            raise DocumentFormatError(f"{path} must be a string, got {_json_type(value)}")
        return value
    if cls is bool:
        if not isinstance(value, bool):
            raise DocumentFormatError(f"{path} must be true or false, got {_json_type(value)}")
        return value
    if cls is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise DocumentFormatError(f"{path} must be an integer, got {_json_type(value)} {value!r}")
        return value
    if cls is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise DocumentFormatError(f"{path} must be a number, got {_json_type(value)}")
        return float(value)
    if cls in (date, datetime):
        if not isinstance(value, str):
            raise DocumentFormatError(f"{path} must be a string, got {_json_type(value)}")
        try:
            return parse_date(value) if cls is date else parse_datetime(value)
        except ValueError as exc:
            raise DocumentFormatError(f"{path}: {exc}") from exc
    raise TypeError(f"no JSON conversion for {cls!r}")  # a bug in the schema, not in the input


def _convert_dataclass(cls: Any, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise DocumentFormatError(f"{path} must be an object, got {_json_type(value)}")
    hints = typing.get_type_hints(cls)
    fields = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise DocumentFormatError(
            f"{path} has unknown member(s) {', '.join(unknown)}; known: {', '.join(fields)}"
        )
    kwargs = {}
    for name in fields:
        hint = hints[name]
        if name not in value:
            if type(None) in typing.get_args(hint):
                kwargs[name] = None
                continue
            raise DocumentFormatError(f"{path} lacks the required member {name!r}")
        kwargs[name] = convert(hint, value[name], f"{path}.{name}")
    try:
        return cls(**kwargs)
    except ValueError as exc:
        raise DocumentFormatError(f"{path}: {exc}") from exc


def parse_body(body: Any, *, path: str = "body") -> Document:
    """The typed document of a JSON body, by its ``schema`` member."""
    if not isinstance(body, dict):
        raise DocumentFormatError(f"{path} must be an object, got {_json_type(body)}")
    schema = body.get("schema")
    cls = DOCUMENT_TYPES.get(schema) if isinstance(schema, str) else None
    if cls is None:
        raise DocumentFormatError(
            f"{path}.schema is {schema!r}; faceright reads {', '.join(DOCUMENT_TYPES)}"
        )
    return convert(cls, body, path)


# -- signed envelopes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedDocument:
    """A parsed envelope: the raw JSON body (what the signature covers), its signature, its typed form."""

    body: Mapping[str, Any]
    signature: signing.Signature
    document: Document


def parse_signature(value: Any, path: str = "signature") -> signing.Signature:
    if not isinstance(value, dict):
        raise DocumentFormatError(f"{path} must be an object, got {_json_type(value)}")
    unknown = sorted(set(value) - {"alg", "key_id", "value"})
    missing = sorted({"alg", "key_id", "value"} - set(value))
    if unknown or missing:
        raise DocumentFormatError(
            f"{path} must have exactly alg, key_id and value"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
        )
    for name in ("alg", "key_id", "value"):
        if not isinstance(value[name], str):
            raise DocumentFormatError(f"{path}.{name} must be a string, got {_json_type(value[name])}")
    if value["alg"] != signing.ALG:
        raise DocumentFormatError(f"{path}.alg is {value['alg']!r}; faceright accepts {signing.ALG} only")
    if not _KEY_ID.fullmatch(value["key_id"]):
        raise DocumentFormatError(f"{path}.key_id must look like ed25519:<32 hex digits>")
    try:
        raw = signing.decode_signature_value(value["value"])
    except ValueError as exc:
        raise DocumentFormatError(f"{path}.value: {exc}") from exc
    return signing.Signature(value["alg"], value["key_id"], raw)


def split_envelope(data: Any, *, what: str) -> tuple[dict[str, Any], signing.Signature]:
    """The body and signature of ``{"body": ..., "signature": ...}``, nothing else allowed."""
    if not isinstance(data, dict):
        raise DocumentFormatError(f"{what} must be a JSON object, got {_json_type(data)}")
    if set(data) != {"body", "signature"}:
        raise DocumentFormatError(
            f"{what} must have exactly the members body and signature; it has {', '.join(sorted(data)) or 'none'}"
        )
    if not isinstance(data["body"], dict):
        raise DocumentFormatError(f"{what}: body must be an object, got {_json_type(data['body'])}")
    signature = parse_signature(data["signature"])
    signing.canonical_bytes(data["body"])  # refuse what cannot be canonicalised, before anything else
    return data["body"], signature


def parse_signed(data: bytes, *, what: str = "document") -> SignedDocument:
    """A signed license or release from its bytes (format only: trust is verify.py's job)."""
    body, signature = split_envelope(strictjson.loads(data, what=what), what=what)
    return SignedDocument(body=body, signature=signature, document=parse_body(body))


def load_signed(path: Path, *, max_bytes: int = strictjson.DEFAULT_MAX_BYTES) -> SignedDocument:
    return parse_signed(strictjson.read_bounded(path, max_bytes), what=str(path))
