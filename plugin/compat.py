"""What Python 3.11 added that the host side needs on 3.10 (Nuke 15 ships Python 3.10).

Only the standard library and, on 3.10, ``tomli``; on 3.11+ each name is the standard one.
The engine may run on 3.11+ only, but the core, labels, licenses, hosts and validators import on 3.10.
"""
from __future__ import annotations

import hashlib
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised by the 3.10 CI job
    import tomli as tomllib

__all__ = ["tomllib", "file_digest", "file_sha256", "parse_instant"]

_CHUNK = 1 << 18


def file_digest(fileobj: BinaryIO, digest: str) -> Any:
    """:func:`hashlib.file_digest` (3.11+): the hash object of a binary file, read in chunks."""
    if sys.version_info >= (3, 11):
        return hashlib.file_digest(fileobj, digest)
    hasher = hashlib.new(digest)
    for chunk in iter(lambda: fileobj.read(_CHUNK), b""):
        hasher.update(chunk)
    return hasher


def file_sha256(path: str | Path) -> str:
    """The hex sha256 of the file at ``path``."""
    with open(path, "rb") as fh:
        return file_digest(fh, "sha256").hexdigest()


# RFC 3339 forms 3.10's fromisoformat refuses: a trailing "Z" and fractions other than 3 or 6 digits
_FRACTION = re.compile(r"(\d\d:\d\d:\d\d)\.(\d+)")


def parse_instant(text: str) -> datetime:
    """:meth:`datetime.fromisoformat` as on 3.11, which reads ``...Z`` (UTC) and any fraction of a second.

    On 3.10 the RFC 3339 forms it lacks (a trailing ``Z``, 1 to n fraction digits) are rewritten first;
    3.11's other ISO 8601 leniencies (basic format, ``,`` fractions, ``+0800``) are not reproduced.
    """
    if sys.version_info >= (3, 11):
        return datetime.fromisoformat(text)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = _FRACTION.sub(lambda m: f"{m.group(1)}.{(m.group(2) + '000000')[:6]}", text, count=1)
    return datetime.fromisoformat(text)
