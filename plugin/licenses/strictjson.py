"""Reading JSON that will be trusted: bounded in size, unambiguous, exactly representable.

A license file is refused by its size before a byte is parsed; duplicate member names are
refused (two readers could each pick a different one); ``NaN``/``Infinity`` and integers
beyond 2**53 are refused because RFC 8785 cannot represent them; the text must be UTF-8.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from faceright.errors import LicenseError

#: default cap on a signed document; a real license is a few KB
DEFAULT_MAX_BYTES = 1024 * 1024
_MAX_SAFE_INTEGER = 2**53 - 1


class DocumentFormatError(LicenseError):
    """A document is not well-formed: too large, not UTF-8, not JSON, ambiguous, or off-schema."""


def read_bounded(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of ``path``, refusing a file over ``max_bytes`` before reading it."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DocumentFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size > max_bytes:
        raise DocumentFormatError(
            f"{path} is {size:,} bytes; a signed document may be at most {max_bytes:,} bytes "
            "([licenses] max_document_bytes), so it was not read"
        )
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)  # the file may have grown since stat()
    except OSError as exc:
        raise DocumentFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise DocumentFormatError(f"{path} is larger than {max_bytes:,} bytes; it was not read in full")
    return data


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DocumentFormatError(
                f"member {key!r} appears twice in one object; a signed document must be unambiguous"
            )
        out[key] = value
    return out


def _refuse_constant(name: str) -> Any:
    raise DocumentFormatError(f"{name} is not a JSON number; signed documents cannot hold it")


def _parse_int(text: str) -> int:
    value = int(text)
    if abs(value) > _MAX_SAFE_INTEGER:
        raise DocumentFormatError(f"integer {text} is beyond 2**53; it cannot be signed exactly (RFC 8785)")
    return value


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise DocumentFormatError(f"number {text} overflows a double")
    return value


def loads(data: bytes, *, what: str = "document") -> Any:
    """Parse ``data`` strictly; every failure is a :class:`DocumentFormatError` naming ``what``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentFormatError(f"{what} is not UTF-8 text (byte {exc.start})") from exc
    if text.startswith("\ufeff"):
        raise DocumentFormatError(f"{what} starts with a byte-order mark; write plain UTF-8")
    try:
        return json.loads(
            text,
            object_pairs_hook=_refuse_duplicates,
            parse_constant=_refuse_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except DocumentFormatError as exc:
        raise DocumentFormatError(f"{what}: {exc}") from exc
    except json.JSONDecodeError as exc:
        at_end = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")  # ran off the end
        hint = " (the file looks truncated)" if at_end else ""
        raise DocumentFormatError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}{hint}"
        ) from exc
    except RecursionError as exc:
        raise DocumentFormatError(f"{what} is nested too deeply") from exc
