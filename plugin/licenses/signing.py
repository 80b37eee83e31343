"""Ed25519 signatures over the RFC 8785 (JCS) canonical form of a JSON body.

Everything faceright signs (likeness licenses, plate releases, revocation notices,
registry statuses and lists) is an *envelope*::

    {"body": {...}, "signature": {"alg": "Ed25519", "key_id": "ed25519:<32 hex>", "value": "<base64>"}}

The signature covers ``rfc8785.dumps(body)``, so key order and whitespace in the file do
not matter, while any change of a value does. A key id is ``ed25519:`` + the first 16 bytes
of the SHA-256 of the raw 32-byte public key, in hex: it names a key, it proves nothing;
verification always uses the key the *keyring* holds under that id.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faceright.atomic import write_error
from faceright.errors import LicenseError

from .strictjson import DocumentFormatError

ALG = "Ed25519"
KEY_ID_PREFIX = "ed25519:"
SIGNATURE_BYTES = 64
#: a PEM key file is a few hundred bytes; refuse anything far larger before reading it
MAX_KEY_FILE_BYTES = 64 * 1024


class CanonicalisationError(DocumentFormatError):
    """A JSON body has a value RFC 8785 cannot represent (NaN, an integer beyond 2**53...)."""


class KeyFileError(LicenseError):
    """A key file is missing, unreadable, not Ed25519, or the wrong half of the pair."""


@dataclass(frozen=True)
class Signature:
    """The ``signature`` member of an envelope."""

    alg: str
    key_id: str
    value: bytes

    def to_json(self) -> dict[str, str]:
        return {"alg": self.alg, "key_id": self.key_id, "value": base64.b64encode(self.value).decode("ascii")}


def canonical_bytes(body: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``body``."""
    try:
        return rfc8785.dumps(body)
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalisationError(f"the document cannot be put in canonical form (RFC 8785): {exc}") from exc


def raw_public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The stable id of a public key: ``ed25519:`` + 32 hex digits of its SHA-256."""
    return KEY_ID_PREFIX + hashlib.sha256(raw_public_bytes(key)).hexdigest()[:32]


def sign(body: Mapping[str, Any], private_key: Ed25519PrivateKey) -> Signature:
    """Sign the canonical form of ``body``."""
    data = canonical_bytes(body)
    return Signature(ALG, key_id(private_key.public_key()), private_key.sign(data))


def envelope(body: Mapping[str, Any], private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """``{"body": body, "signature": ...}``, ready for ``json.dumps``."""
    return {"body": dict(body), "signature": sign(body, private_key).to_json()}


def dumps_envelope(envelope: Mapping[str, Any]) -> bytes:
    """An envelope as faceright writes it to a file: indented UTF-8 JSON, non-ASCII kept, one final newline.

    Only the body's canonical form is signed, so this layout is free to be readable."""
    return (json.dumps(envelope, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def verify_signature(body: Any, signature: Signature, public_key: Ed25519PublicKey) -> bool:
    """True when ``signature`` is ``public_key``'s Ed25519 signature of ``body``'s canonical form."""
    if signature.alg != ALG or len(signature.value) != SIGNATURE_BYTES:
        return False
    try:
        public_key.verify(signature.value, canonical_bytes(body))
    except InvalidSignature:
        return False
    return True


def decode_signature_value(text: str) -> bytes:
    """Strict base64: 64 bytes, and only the one canonical spelling of them.

    Base64 leaves spare bits in the last character; accepting several spellings of the
    same bytes would let a file change while its signature still verified.
    """
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"signature value is not base64: {exc}") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("signature value is not in canonical base64")
    if len(raw) != SIGNATURE_BYTES:
        raise ValueError(f"an Ed25519 signature has {SIGNATURE_BYTES} bytes, this one has {len(raw)}")
    return raw


# -- key files -------------------------------------------------------------------------------------


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey, passphrase: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption
    if passphrase:
        encryption = serialization.BestAvailableEncryption(passphrase)
    else:
        encryption = serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _read_key_file(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_KEY_FILE_BYTES:
            raise KeyFileError(f"{path} is {size} bytes: too large for a key file (PEM keys are under 1 KB)")
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror or exc}") from exc


def load_private_key(path: Path, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file (PKCS#8, optionally encrypted)."""
    data = _read_key_file(path)
    if b"PUBLIC KEY" in data and b"PRIVATE KEY" not in data:
        raise KeyFileError(f"{path} holds a public key; signing needs the private key file")
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError as exc:
        hint = "it is encrypted: give the passphrase" if passphrase is None else "it is not encrypted"
        raise KeyFileError(f"cannot load private key {path}: {hint}") from exc
    except ValueError as exc:
        raise KeyFileError(f"cannot load private key {path}: not a PEM private key, or a wrong passphrase") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds a {type(key).__name__}; faceright signs with Ed25519 keys only")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (SubjectPublicKeyInfo)."""
    data = _read_key_file(path)
    return parse_public_key_pem(data, where=str(path))


def parse_public_key_pem(data: bytes, *, where: str) -> Ed25519PublicKey:
    if b"PRIVATE KEY" in data:
        raise KeyFileError(
            f"{where} holds a private key; give the public key (keep the private key with the issuer)"
        )
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise KeyFileError(f"{where} is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{where} holds a {type(key).__name__}; faceright trusts Ed25519 keys only")
    return key


def write_key_pair(
    private_path: Path, public_path: Path, *, passphrase: bytes | None = None
) -> Ed25519PrivateKey:
    """Generate a key pair and write it; the private key is created mode 0600 and never overwritten."""
    for path in (private_path, public_path):
        if path.exists():
            raise KeyFileError(f"{path} exists; faceright never overwrites a key file")
        if not path.parent.is_dir():
            raise KeyFileError(f"folder {path.parent} does not exist")
    key = generate_private_key()
    created: list[Path] = []
    writing = private_path
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        created.append(private_path)
        with os.fdopen(fd, "wb") as fh:
            fh.write(private_key_pem(key, passphrase))
        writing = public_path
        with public_path.open("xb") as fh:
            created.append(public_path)
            fh.write(public_key_pem(key.public_key()))
    except OSError as exc:
        for path in created:      # half a key pair is no key pair: a retry must not find one
            path.unlink(missing_ok=True)
        raise KeyFileError(f"{write_error(exc, writing)} (no key pair was made)") from exc
    return key
