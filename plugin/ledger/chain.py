"""The hash chain: what a record is, how its hash is made, and the one text form of its time.

    hash = sha256(prev_hash || canonical_json({"sequence", "at", "user", "entry"}))

``prev_hash`` is the previous record's hash as 64 lowercase hex digits (ASCII), or
:data:`GENESIS` for the first record; the canonical JSON is RFC 8785 (``rfc8785``), so the
same record hashes the same in any language. ``at`` enters the hash as the text the database
holds (:func:`format_at`: UTC, microseconds, ``Z``), so what is hashed is what is stored.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

import rfc8785

from faceright.errors import LedgerError

#: the prev_hash of the first record
GENESIS = "0" * 64

_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_at(at: datetime) -> str:
    """``at`` as the ledger stores and hashes it: UTC, always six fractional digits, ``Z``."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise LedgerError(f"a ledger time must say its time zone (got the naive {at.isoformat()}); "
                          "pass datetime.now(timezone.utc) or leave it out")
    return at.astimezone(timezone.utc).strftime(_AT_FORMAT)


def parse_at(text: str) -> datetime:
    """The inverse of :func:`format_at` (works on Python 3.10, whose fromisoformat refuses ``Z``)."""
    return datetime.strptime(text, _AT_FORMAT).replace(tzinfo=timezone.utc)


def canonical_entry(entry: Mapping[str, Any]) -> bytes:
    """The RFC 8785 form of a publish's entry, refusing what JSON cannot hold exactly."""
    if not isinstance(entry, Mapping):
        raise LedgerError(f"a ledger entry must be a JSON object (a mapping), got {type(entry).__name__}")
    try:
        return rfc8785.dumps(dict(entry))
    except rfc8785.CanonicalizationError as exc:
        raise LedgerError(f"the ledger entry cannot be written as canonical JSON: {exc}; "
                          "give strings, numbers (integers within ±2^53), booleans, null, lists and objects") from exc


def record_document(sequence: int, at: str, user: str, entry_json: bytes) -> bytes:
    """``canonical_json({"sequence", "at", "user", "entry"})`` from the entry's canonical form.

    The four keys are fixed, so their RFC 8785 order (at, entry, sequence, user) is too; building
    the document around the already canonical entry saves canonicalising it twice."""
    return b"".join((b'{"at":', rfc8785.dumps(at), b',"entry":', entry_json, b',"sequence":',
                     rfc8785.dumps(sequence), b',"user":', rfc8785.dumps(user), b"}"))


def record_hash(prev_hash: str, sequence: int, at: str, user: str, entry_json: bytes) -> str:
    """The record's hash: sha256 over the previous hash (hex, ASCII) then the canonical document."""
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(record_document(sequence, at, user, entry_json))
    return digest.hexdigest()


@dataclass(frozen=True)
class LedgerRecord:
    """One publish as the ledger holds it. ``entry`` is the publish's own JSON object, uninterpreted."""

    sequence: int
    at: datetime
    user: str
    entry: dict[str, Any] = field(hash=False)
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {"sequence": self.sequence, "at": format_at(self.at), "user": self.user, "entry": self.entry,
                "prev_hash": self.prev_hash, "hash": self.hash}

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> LedgerRecord:
        """A record from a ``(sequence, at, user, entry, prev_hash, hash)`` row; a row that is not
        what the ledger writes (edited by hand) is a :class:`LedgerError` naming it."""
        sequence, at, user, entry, prev_hash, digest = row
        try:
            parsed_entry = json.loads(entry)
            when = parse_at(at)
        except (TypeError, ValueError) as exc:
            raise LedgerError(f"ledger record {sequence} cannot be read ({exc}): the database was edited "
                              "outside faceright; run `faceright ledger verify`") from exc
        if not isinstance(parsed_entry, dict):
            raise LedgerError(f"ledger record {sequence}'s entry is not a JSON object: the database was "
                              "edited outside faceright; run `faceright ledger verify`")
        return cls(int(sequence), when, str(user), parsed_entry, str(prev_hash), str(digest))
