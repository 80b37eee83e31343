"""The keys a TD trusts: ``$FACERIGHT_HOME/keyring/keyring.json``.

Each entry has a name, the Ed25519 public key, its key id, the roles it is trusted for
(``issuer``: signs licenses and releases; ``registry``: signs revocation statuses and
lists) and an optional expiry. A signature is only ever checked against the key stored
here under the signature's key id, so a document cannot bring its own key.

Reading the file re-derives every key id from its key: an edited file whose id names one
key while holding another is refused, not trusted.
"""
from __future__ import annotations

import json
import logging
import re
import typing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faceright.atomic import write_replacing
from faceright.errors import LicenseError
from faceright.home import faceright_home

from . import signing, strictjson
from .document import parse_datetime

log = logging.getLogger(__name__)

KEYRING_SCHEMA = "faceright.keyring/1"
Role = Literal["issuer", "registry"]
ROLES: tuple[Role, ...] = typing.get_args(Role)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class KeyringError(LicenseError):
    """The keyring file is unreadable or inconsistent, or a keyring change cannot be made."""


@dataclass(frozen=True)
class TrustedKey:
    name: str
    key_id: str
    public_key: Ed25519PublicKey
    roles: tuple[Role, ...]
    added_at: datetime
    expires_at: datetime | None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "key_id": self.key_id,
            "public_key_pem": signing.public_key_pem(self.public_key).decode("ascii"),
            "roles": list(self.roles),
            "added_at": self.added_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


def default_keyring_path() -> Path:
    return faceright_home() / "keyring" / "keyring.json"


class Keyring:
    """The trusted keys, read from and written to one JSON file (atomically)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = default_keyring_path() if path is None else path
        self._read: tuple[tuple[int, int], list[TrustedKey]] | None = None   # the keys of one file version

    # -- reading ------------------------------------------------------------------------------

    def keys(self) -> list[TrustedKey]:
        """The trusted keys; the file is parsed again whenever it changed (size or modification time)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return []
        version = (stat.st_size, stat.st_mtime_ns)
        if self._read is not None and self._read[0] == version:
            return list(self._read[1])
        data = strictjson.loads(strictjson.read_bounded(self.path), what=f"keyring {self.path}")
        if not isinstance(data, dict) or data.get("schema") != KEYRING_SCHEMA or not isinstance(data.get("keys"), list):
            raise KeyringError(f"keyring {self.path} is not a {KEYRING_SCHEMA} file")
        keys = [self._entry(item, i) for i, item in enumerate(data["keys"])]
        self._read = (version, keys)
        return list(keys)

    def _entry(self, item: object, index: int) -> TrustedKey:
        where = f"keyring {self.path}, entry {index}"
        if not isinstance(item, dict):
            raise KeyringError(f"{where} is not an object")
        try:
            name, key_id, pem = item["name"], item["key_id"], item["public_key_pem"]
            roles = tuple(item["roles"])
            added_at = parse_datetime(item["added_at"])
            expires_at = parse_datetime(item["expires_at"]) if item.get("expires_at") else None
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyringError(f"{where} is malformed: {exc}") from exc
        key = signing.parse_public_key_pem(str(pem).encode("ascii"), where=where)
        if signing.key_id(key) != key_id:
            raise KeyringError(
                f"{where} ({name}) claims key id {key_id} but holds key {signing.key_id(key)}; "
                "the keyring file was edited by hand: remove the entry and add the key again"
            )
        if not set(roles) <= set(ROLES):
            raise KeyringError(f"{where} has unknown roles {roles}")
        return TrustedKey(name, key_id, key, roles, added_at, expires_at)  # type: ignore[arg-type]

    def get(self, key_id: str) -> TrustedKey | None:
        return next((k for k in self.keys() if k.key_id == key_id), None)

    # -- changing -----------------------------------------------------------------------------

    def add(
        self,
        public_key: Ed25519PublicKey,
        *,
        name: str,
        roles: Iterable[Role] = ("issuer",),
        expires_at: datetime | None = None,
        now: datetime | None = None,
    ) -> TrustedKey:
        now = datetime.now(timezone.utc) if now is None else now
        roles = tuple(dict.fromkeys(roles))
        if not _NAME.fullmatch(name):
            raise KeyringError(f"key name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
        if not roles or not set(roles) <= set(ROLES):
            raise KeyringError(f"roles must be among {', '.join(ROLES)}, got {', '.join(roles) or 'none'}")
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise KeyringError("a key's expiry needs a UTC offset")
            if expires_at <= now:
                raise KeyringError(f"expiry {expires_at.isoformat()} is already past")
        keys = self.keys()
        new_id = signing.key_id(public_key)
        for existing in keys:
            if existing.name == name:
                raise KeyringError(f"a key named {name!r} is already trusted ({existing.key_id}); remove it first")
            if existing.key_id == new_id:
                raise KeyringError(f"this key is already trusted as {existing.name!r} ({new_id})")
        entry = TrustedKey(name, new_id, public_key, roles, now, expires_at)  # type: ignore[arg-type]
        self._write([*keys, entry])
        log.info("trusted key %s (%s) for %s", name, new_id, ", ".join(roles))
        return entry

    def remove(self, name_or_key_id: str) -> TrustedKey:
        keys = self.keys()
        gone = [k for k in keys if name_or_key_id in (k.name, k.key_id)]
        if not gone:
            known = ", ".join(k.name for k in keys) or "none"
            raise KeyringError(f"no trusted key is named {name_or_key_id!r} (trusted: {known})")
        self._write([k for k in keys if k not in gone])
        log.info("removed key %s (%s)", gone[0].name, gone[0].key_id)
        return gone[0]

    def _write(self, keys: list[TrustedKey]) -> None:
        payload = {"schema": KEYRING_SCHEMA, "keys": [k.to_json() for k in keys]}
        self._read = None
        try:
            write_replacing(self.path, (json.dumps(payload, indent=2) + "\n").encode("utf-8"))
        except OSError as exc:
            raise KeyringError(f"cannot write keyring {self.path}: {exc}") from exc
