"""Issuing: turn a filled-in body into a signed document (what ``faceright license issue`` does).

The issuer's key id and the issue time are stamped here, the likeness reference may be
filled from reference images, and the body must parse strictly *before* it is signed, so
nothing off-schema ever carries a signature.
"""
from __future__ import annotations

import copy
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceright import atomic
from faceright.errors import OutputError, OutputExistsError

from . import signing
from .document import RELEASE_SCHEMA, DocumentFormatError, SignedDocument, parse_body


def reference_member(body: Mapping[str, Any]) -> str:
    """Where a reference goes: ``face`` in a plate release, ``likeness`` in a license."""
    return "face" if body.get("schema") == RELEASE_SCHEMA or "release_id" in body else "likeness"


def prepare_body(
    body: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    *,
    reference: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A copy of ``body`` with ``issuer.key_id``, ``issued_at`` (and the reference) filled in."""
    if not isinstance(body, dict):
        raise DocumentFormatError("a body must be a JSON object")
    now = datetime.now(timezone.utc).replace(microsecond=0) if now is None else now
    out = copy.deepcopy(dict(body))
    issuer = out.get("issuer")
    if not isinstance(issuer, dict):
        raise DocumentFormatError("body.issuer must be an object with name and key_id")
    issuer["key_id"] = signing.key_id(private_key.public_key())
    out["issued_at"] = now.isoformat()
    if reference is not None:
        out[reference_member(out)] = dict(reference)
    return out


def issue(
    body: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    *,
    reference: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> SignedDocument:
    """Stamp, validate strictly, then sign."""
    prepared = prepare_body(body, private_key, reference=reference, now=now)
    document = parse_body(prepared)
    signature = signing.sign(prepared, private_key)
    return SignedDocument(body=prepared, signature=signature, document=document)


def dumps_signed(signed: SignedDocument) -> bytes:
    return signing.dumps_envelope({"body": dict(signed.body), "signature": signed.signature.to_json()})


def write_new(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary name; refuses to overwrite an existing file."""
    try:
        atomic.write_new(path, data)
    except OutputExistsError:
        raise OutputError(f"{path} exists; choose another --out (faceright never overwrites a signed document)") \
            from None
