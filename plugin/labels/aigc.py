"""The implicit label: the ``AIGC`` object of GB 45438-2025 Annex E, and its signature.

One JSON object with exactly seven string members, in this order (compliance.md §1.4)::

    {"Label":"1","ContentProducer":"<27-char code>","ProduceID":"<unique per file>",
     "ReservedCode1":"<producer's anti-tamper code>","ContentPropagator":"","PropagateID":"",
     "ReservedCode2":""}

Values are limited to single-byte printable characters (no spaces, backslashes or quotes),
so the producer's *code* goes into ContentProducer, not a Chinese company name.

ReservedCode1 carries ``ED25519:<scheme>=<digest>:<signature>``: the digest of the content the
label is bound to (:mod:`.content`, e.g. ``vp1`` for a video's coded packets) and the base64url
Ed25519 signature, by the studio's key, over the producer's fields (Label, ContentProducer,
ProduceID) and that digest in RFC 8785 canonical form. A label copied onto other content still
carries a valid signature, but for a digest the file does not have. ``ED25519:<signature>``
alone is the unbound form (the producer's fields only) of faceright before 0.2, which verify
reports as such. The three propagator fields are left out of the signature on purpose: a
platform fills them in later (Measures Art. 6) and guards them with its own ReservedCode2.

The writers sign once the content is final (:class:`LabelSigner`): a video's container is
written with a :meth:`~LabelSigner.placeholder` of the signed label's exact length, which is
overwritten in place once the packets are on disk (no checksum covers it; MKV is written without
CRC-32 elements).
"""
from __future__ import annotations

import base64
import json
import re
import secrets
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faceright.atomic import make_folder
from faceright.errors import ConfigError
from faceright.findings import Finding
from faceright.licenses import signing

from .content import DIGEST_CHARS
from .policy import LabelSettings

FIELDS = ("Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator", "PropagateID", "ReservedCode2")
SIGNED_FIELDS = ("Label", "ContentProducer", "ProduceID")
LABEL_VALUES = {"1": "AI-generated", "2": "possibly AI-generated", "3": "suspected AI-generated"}
SIGNATURE_PREFIX = "ED25519:"
_SIGNING_CONTEXT = b"faceright AIGC ReservedCode1 v1\n"          # unbound: the producer's fields
_BOUND_CONTEXT = b"faceright AIGC ReservedCode1 v2\n"            # and ContentDigest
_SIGNATURE_CHARS = 86                                             # 64 bytes, base64url unpadded
_CONTENT = re.compile(r"^([a-z][a-z0-9]*)=([A-Za-z0-9_-]{43})$")
#: GB 18030 single-byte printable, less space, backslash and double quote (what testers reject)
_VALUE_CHARS = re.compile(r'^[\x21\x23-\x5b\x5d-\x7e]*$')
_PROVIDER_CODE = re.compile(r"^00[0-9A-Z]{25}$")
PROVIDER_CODE_SHAPE = "00 + 20-char subject code + 5-char extension, digits and upper-case letters"


@dataclass(frozen=True)
class AigcLabel:
    """The seven Annex E fields; field order here is the order written."""

    Label: str
    ContentProducer: str
    ProduceID: str
    ReservedCode1: str = ""
    ContentPropagator: str = ""
    PropagateID: str = ""
    ReservedCode2: str = ""

    def to_json(self) -> str:
        """Compact JSON, members in Annex E order (``asdict`` keeps the field order)."""
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @property
    def content(self) -> str | None:
        """The ``<scheme>=<digest>`` ReservedCode1 binds the label to; ``None`` when unbound."""
        return split_reserved_code1(self.ReservedCode1)[0]

    def signing_payload(self) -> bytes:
        """What ReservedCode1's signature covers: the producer's fields, and the content
        ReservedCode1 names when the label is bound."""
        return self._payload(self.content)

    def _payload(self, content: str | None) -> bytes:
        fields = {name: getattr(self, name) for name in SIGNED_FIELDS}
        if content is None:
            return _SIGNING_CONTEXT + rfc8785.dumps(fields)
        return _BOUND_CONTEXT + rfc8785.dumps({**fields, "ContentDigest": content})

    def signed(self, key: Ed25519PrivateKey, content: str | None = None) -> "AigcLabel":
        """This label signed by ``key``, bound to ``content`` (``<scheme>=<digest>``) when given."""
        if content is not None and not _CONTENT.match(content):
            raise ValueError(f"not a content digest: {content!r}")
        signature = key.sign(self._payload(content))
        encoded = base64.urlsafe_b64encode(signature).rstrip(b"=").decode("ascii")
        code = SIGNATURE_PREFIX + (f"{content}:{encoded}" if content else encoded)
        return replace(self, ReservedCode1=code)


def split_reserved_code1(code: str) -> tuple[str | None, str]:
    """``(content, signature)`` of a faceright ReservedCode1 (its prefix removed); ``content`` is
    ``None`` for the unbound form."""
    body = code[len(SIGNATURE_PREFIX):] if code.startswith(SIGNATURE_PREFIX) else code
    content, sep, signature = body.rpartition(":")
    return (content if sep and _CONTENT.match(content) else None), (signature if sep else body)


class LabelSigner:
    """One output's label before its content exists: the producer's fields and the studio's key.

    :meth:`sign` binds it to the finished content (and keeps it as :attr:`signed`, the latest);
    :meth:`placeholder` is a label of the same length in bytes, unique to this signer, that a
    container can be written with first.
    """

    def __init__(self, label: AigcLabel, key: Ed25519PrivateKey):
        self.label = label
        self.key = key
        self.signed: AigcLabel | None = None
        self._nonce = secrets.token_urlsafe(100)

    def __repr__(self) -> str:
        return f"LabelSigner({self.label!r})"

    @property
    def produce_id(self) -> str:
        return self.label.ProduceID

    def sign(self, content: str) -> AigcLabel:
        self.signed = self.label.signed(self.key, content)
        return self.signed

    def placeholder(self, scheme: str) -> AigcLabel:
        """A stand-in with the signed label's length for ``scheme``: ``ED25519:<scheme>=`` and random
        base64url characters where the digest and the signature will be."""
        body = self._nonce[:DIGEST_CHARS] + ":" + self._nonce[DIGEST_CHARS:DIGEST_CHARS + _SIGNATURE_CHARS]
        return replace(self.label, ReservedCode1=f"{SIGNATURE_PREFIX}{scheme}={body}")


def new_produce_id() -> str:
    """A ProduceID unique per file: 32 hex digits of a random UUID."""
    return uuid.uuid4().hex


def build_label(settings: LabelSettings, *, produce_id: str | None = None, key: Ed25519PrivateKey | None = None,
                content: str | None = None) -> AigcLabel:
    """The signed AIGC object for one output file, from the ``[labels]`` settings, bound to
    ``content`` (:func:`.content.content_digest`) when given."""
    signer = label_signer(settings, produce_id=produce_id, key=key)
    return signer.sign(content) if content is not None else signer.label.signed(signer.key)


def label_signer(settings: LabelSettings, *, produce_id: str | None = None,
                 key: Ed25519PrivateKey | None = None) -> LabelSigner:
    """The label of one output, to be signed when its content is written: refuses an unconfigured
    or non-compliant label (no provider code, no key) before any work."""
    if not settings.provider_code:
        raise ConfigError(
            "no provider code for the AIGC label's ContentProducer: set provider_code in the [labels] table of "
            "config.toml to the 27-character TC260 service provider code (e.g. 0011<18-char USCC>10002)"
        )
    code = settings.provider_code
    if not _PROVIDER_CODE.match(code):
        name = ("; it holds characters outside single-byte printable (no spaces, quotes or Chinese): the code, "
                "not the company's name" if not _VALUE_CHARS.match(code) else "")
        raise ConfigError(
            f"[labels] provider_code {code!r} ({len(code)} characters) is not a 27-character TC260 service provider "
            f"code ({PROVIDER_CODE_SHAPE}){name}; set provider_code in the [labels] table of config.toml to the "
            "studio's code (e.g. 0011<18-char USCC>10002): no label is made with another"
        )
    label = AigcLabel(Label=settings.label_value, ContentProducer=settings.provider_code,
                      ProduceID=produce_id or new_produce_id())
    problems = [f for f in check_values(label) if f.blocks]
    if problems:
        raise ConfigError("the AIGC label would be non-compliant: " + "; ".join(f.message for f in problems))
    key = key if key is not None else load_signing_key(settings.signing_key_path)
    return LabelSigner(label, key)


# -- keys ------------------------------------------------------------------------------------

def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The studio's Ed25519 private key (PEM), read as license keys are (:mod:`faceright.licenses.signing`)."""
    if not path.exists():
        raise ConfigError(
            f"AIGC signing key {path} does not exist: create one with `faceright label keygen` or set "
            f"[labels] signing_key (or --key) to an Ed25519 private key in PEM"
        )
    return signing.load_private_key(path)


def load_public_key(path: Path) -> Ed25519PublicKey:
    return signing.load_public_key(path)


def write_keypair(private_path: Path, public_path: Path) -> Ed25519PrivateKey:
    """Create a new Ed25519 studio key (private file mode 0600); never overwrites a key file."""
    make_folder(private_path.parent)
    make_folder(public_path.parent)
    return signing.write_key_pair(private_path, public_path)


# -- reading back ----------------------------------------------------------------------------

def parse_label(text: str) -> tuple[AigcLabel | None, list[Finding]]:
    """Parse one AIGC value as read from a file; findings name every deviation from Annex E."""
    pairs_seen: list[list[tuple[str, Any]]] = []

    def keep_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        pairs_seen.append(pairs)
        return dict(pairs)

    try:
        value = json.loads(text, object_pairs_hook=keep_pairs)
    except json.JSONDecodeError as exc:
        return None, [Finding("aigc.malformed_json", "error", f"the AIGC value is not valid JSON: {exc}",
                              {"value": text[:200]})]
    if not isinstance(value, dict):
        return None, [Finding("aigc.not_an_object", "error",
                              f"the AIGC value is JSON {type(value).__name__}, expected one object")]
    pairs = pairs_seen[-1]
    findings: list[Finding] = []
    names = [name for name, _ in pairs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        findings.append(Finding("aigc.duplicate_field", "error", f"the AIGC object repeats field(s) {', '.join(repeated)}"))
    missing = [n for n in FIELDS if n not in value]
    if missing:
        findings.append(Finding("aigc.missing_field", "error",
                                f"the AIGC object lacks field(s) {', '.join(missing)}; Annex E needs all of {', '.join(FIELDS)}"))
    unknown = [n for n in value if n not in FIELDS]
    if unknown:
        findings.append(Finding("aigc.unknown_field", "error",
                                f"the AIGC object has field(s) {', '.join(unknown)} outside Annex E"))
    present = [n for n in dict.fromkeys(names) if n in FIELDS]
    if not missing and present != list(FIELDS):
        findings.append(Finding("aigc.field_order", "error",
                                f"AIGC fields are in the order {', '.join(present)}; Annex E order is {', '.join(FIELDS)}"))
    not_strings = [n for n in FIELDS if n in value and not isinstance(value[n], str)]
    if not_strings:
        findings.append(Finding("aigc.value_type", "error",
                                f"AIGC field(s) {', '.join(not_strings)} are not strings (Label is \"1\", not 1)"))
    if missing or not_strings:
        return None, findings
    label = AigcLabel(**{n: value[n] for n in FIELDS})
    findings.extend(check_values(label))
    return label, findings


def check_values(label: AigcLabel) -> list[Finding]:
    """Annex E value rules: charset, Label enumeration, provider code shape, ProduceID present."""
    findings: list[Finding] = []
    bad = [n for n in FIELDS if not _VALUE_CHARS.match(getattr(label, n))]
    if bad:
        findings.append(Finding("aigc.value_charset", "error",
                                f"AIGC field(s) {', '.join(bad)} hold characters outside single-byte printable "
                                f"(no spaces, backslashes, quotes or Chinese; use the provider code, not a name)",
                                {"fields": bad}))
    if label.Label not in LABEL_VALUES:
        findings.append(Finding("aigc.label_value", "error",
                                f"Label is {label.Label!r}; expected one of {', '.join(LABEL_VALUES)} "
                                f"(1 = AI-generated, 2 = possibly, 3 = suspected)"))
    if not _PROVIDER_CODE.match(label.ContentProducer):
        findings.append(Finding("aigc.producer_code", "warning",
                                f"ContentProducer {label.ContentProducer!r} is not a 27-character TC260 provider code "
                                f"({PROVIDER_CODE_SHAPE})"))
    if not label.ProduceID:
        findings.append(Finding("aigc.produce_id_missing", "error", "ProduceID is empty; it must be unique per file"))
    return findings


def check_signature(label: AigcLabel, public_key: Ed25519PublicKey | None,
                    settings: LabelSettings | None = None) -> Finding:
    """ReservedCode1 against the studio's public key: valid, invalid (tampered), or not checked.

    A signature that cannot be checked (no public key, another scheme) is not proof: it blocks,
    unless ``settings.warn_only`` lowers it to a warning.
    """
    code = label.ReservedCode1
    if not code:
        return Finding("aigc.signature_missing", "error", "ReservedCode1 is empty: the label carries no anti-tamper signature")
    if not code.startswith(SIGNATURE_PREFIX):
        scheme = code.split(":", 1)[0] if ":" in code else None
        return by_policy(Finding(
            "aigc.signature_scheme_unknown", "error",
            f"ReservedCode1 is not a faceright {SIGNATURE_PREFIX} signature (scheme {scheme or 'unnamed'}), so it "
            f"cannot be checked and the label is not proven: re-label the file with `faceright label apply`, or list "
            f"aigc.signature_scheme_unknown in [labels] warn_only to accept labels signed by other tools",
            {"scheme": scheme}), settings)
    if public_key is None:
        where = f" ({settings.public_key_path} does not exist)" if settings is not None else ""
        return by_policy(Finding(
            "aigc.signature_unchecked", "error",
            f"ReservedCode1 holds a signature, but no public key is configured to check it{where}, so the label is "
            f"not proven: set [labels] public_key (or --pubkey) to the studio's public key, or list "
            f"aigc.signature_unchecked in [labels] warn_only",
            {"public_key": str(settings.public_key_path) if settings is not None else None}), settings)
    encoded = split_reserved_code1(code)[1]
    try:
        signature = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        public_key.verify(signature, label.signing_payload())
    except (InvalidSignature, ValueError) as exc:
        return Finding("aigc.signature_invalid", "error",
                       "ReservedCode1 does not verify against the studio's public key: the label was altered "
                       "(or signed by another key)", {"reason": type(exc).__name__})
    return Finding("aigc.signature_valid", "info", "ReservedCode1 verifies against the studio's public key")


def by_policy(finding: Finding, settings: LabelSettings | None) -> Finding:
    """``finding`` as a warning when ``[labels] warn_only`` lists its code, saying so; else unchanged."""
    if settings is None or finding.code not in settings.warn_only or not finding.blocks:
        return finding
    return replace(finding, severity="warning",
                   message=f"{finding.message} (lowered from a block to a warning by the [labels] warn_only policy)",
                   detail={**finding.detail, "lowered_by": "[labels] warn_only"})
