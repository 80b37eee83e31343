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

The names below are imported from their module on first use (PEP 562), so that a command
reading one module (``keyring list``) does not load the registry client, numpy or the rest.
"""
from __future__ import annotations

import importlib
from typing import Any

#: each public name and the module it lives in
_WHERE = {
    **dict.fromkeys(("LICENSE_SCHEMA", "RELEASE_SCHEMA", "Document", "LikenessLicense", "LikenessReference",
                     "PlateRelease", "SignedDocument", "load_signed", "parse_body", "parse_signed"), "document"),
    **dict.fromkeys(("FaceEmbedder", "FaceEvidence", "check_identity", "evidence_from_image", "make_reference",
                     "read_image"), "identity"),
    **dict.fromkeys(("dumps_signed", "issue"), "issuing"),
    **dict.fromkeys(("Keyring", "KeyringError", "TrustedKey"), "keyring"),
    **dict.fromkeys(("RegistryClient", "RegistryError", "RevocationChecker", "RevocationStore", "refresh_list"),
                    "revocation"),
    **dict.fromkeys(("LicenseSettings", "license_settings"), "settings"),
    **dict.fromkeys(("key_id", "load_private_key", "load_public_key"), "signing"),
    "DocumentFormatError": "strictjson",
    **dict.fromkeys(("ShotContext", "Verifier"), "verify"),
}

__all__ = list(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))

