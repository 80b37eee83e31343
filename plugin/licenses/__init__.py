"""Likeness licenses and plate releases: issue, verify, revoke, with the face itself checked.

The surface other packages use (validators, hosts, the engine service)::

    from faceright.licenses import (
        Keyring, LicenseSettings, license_settings, RevocationChecker, RevocationStore, RegistryClient,
        ShotContext, Verifier, load_signed, evidence_from_image, FaceEvidence,
    )

Modules, one job each: :mod:`.strictjson` (bounded, unambiguous JSON), :mod:`.document`
(schema and strict parsing), :mod:`.signing` (Ed25519 over RFC 8785), :mod:`.keyring`
(trusted keys), :mod:`.issuing` (stamp and sign a body), :mod:`.template` (example bodies),
:mod:`.revocation` (registry client, cached lists, notices), :mod:`.identity` (the face
check), :mod:`.verify` (findings), :mod:`.settings` (the ``[licenses]`` table).
"""
from __future__ import annotations

from .document import (
    LICENSE_SCHEMA,
    RELEASE_SCHEMA,
    Document,
    LikenessLicense,
    LikenessReference,
    PlateRelease,
    SignedDocument,
    load_signed,
    parse_body,
    parse_signed,
)
from .identity import FaceEmbedder, FaceEvidence, check_identity, evidence_from_image, make_reference, read_image
from .issuing import dumps_signed, issue
from .keyring import Keyring, KeyringError, TrustedKey
from .revocation import RegistryClient, RegistryError, RevocationChecker, RevocationStore, refresh_list
from .settings import LicenseSettings, license_settings
from .signing import key_id, load_private_key, load_public_key
from .strictjson import DocumentFormatError
from .verify import ShotContext, Verifier

__all__ = [
    "LICENSE_SCHEMA", "RELEASE_SCHEMA", "Document", "LikenessLicense", "LikenessReference", "PlateRelease",
    "SignedDocument", "load_signed", "parse_body", "parse_signed",
    "FaceEmbedder", "FaceEvidence", "check_identity", "evidence_from_image", "make_reference", "read_image",
    "dumps_signed", "issue", "Keyring", "KeyringError", "TrustedKey",
    "RegistryClient", "RegistryError", "RevocationChecker", "RevocationStore", "refresh_list",
    "LicenseSettings", "license_settings", "key_id", "load_private_key", "load_public_key",
    "DocumentFormatError", "ShotContext", "Verifier",
]
