"""Frozen dataclasses to plain JSON and back, strictly: the FaceShot's wire form.

One codec, driven by each field's type annotation, so that a new field cannot be forgotten
by the parser. Decoding refuses what a careful reader would: an unknown member (a typo must
not vanish), a missing required one, a wrong type (``true`` is not a number, ``1`` is not a
string), NaN and infinities, and a value outside a ``Literal``. Every refusal is a
:class:`~faceright.errors.ShotError` whose message starts with the member's path
(``plate.frames.first``) so the person fixing the file knows where to look.

Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``X | None``, ``Literal[...]``,
``tuple[X, ...]``, ``dict[str, X]``, nested frozen dataclasses, :class:`FrameRange` (as
``{"first", "last"}``, both ends included), ``Fraction`` (as ``"24000/1001"``) and
``date | datetime`` (ISO 8601; a date-time must carry its UTC offset).
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from datetime import date, datetime
from fractions import Fraction
from functools import lru_cache
from typing import Any, Literal, Union, get_args, get_origin

from .compat import parse_instant
from .errors import FrameRangeError, ShotError
from .frames import FrameRange

_NONE = type(None)


def encode(value: Any) -> Any:
    """``value`` (a dataclass instance or a supported value) as plain JSON data."""
    if isinstance(value, FrameRange):   # a dataclass too, but written as people write ranges
        return value.to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, tuple):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    return value


def decode(cls: type, data: Any, path: str = "") -> Any:
    """An instance of the dataclass ``cls`` from JSON ``data``; a :class:`ShotError` names the path."""
    return _decode(cls, data, path)


# -- decoding ---------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@lru_cache(maxsize=None)
def _init_fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def _fail(path: str, message: str) -> ShotError:
    return ShotError(f"{path or 'the document'}: {message}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return {str: "a string", int: "a whole number", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__)


def _decode(tp: Any, data: Any, path: str) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return _decode_union(tp, data, path)
    if origin is Literal:
        choices = get_args(tp)
        if not isinstance(data, str) or data not in choices:
            raise _fail(path, f"must be one of {', '.join(map(repr, choices))}, not {data!r}")
        return data
    if origin is tuple:
        item = get_args(tp)[0]
        if not isinstance(data, list):
            raise _fail(path, f"must be a list, not {_kind(data)}")
        return tuple(_decode(item, v, f"{path}[{i}]") for i, v in enumerate(data))
    if origin is dict:
        _, item = get_args(tp)
        if not isinstance(data, dict):
            raise _fail(path, f"must be an object, not {_kind(data)}")
        return {k: _decode(item, v, f"{path}.{k}") for k, v in data.items()}
    if tp is FrameRange:
        return _decode_frames(data, path)
    if dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, data, path)
    if tp is Fraction:
        return _decode_fraction(data, path)
    if tp is bool:
        if not isinstance(data, bool):
            raise _fail(path, f"must be true or false, not {_kind(data)}")
        return data
    if tp is int:
        if not isinstance(data, int) or isinstance(data, bool):
            raise _fail(path, f"must be a whole number, not {_kind(data)}")
        return data
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise _fail(path, f"must be a number, not {_kind(data)}")
        if not math.isfinite(data):
            raise _fail(path, f"must be a finite number, not {data!r}")
        return float(data)
    if tp is str:
        if not isinstance(data, str):
            raise _fail(path, f"must be a string, not {_kind(data)}")
        return data
    raise TypeError(f"jsoncodec cannot decode the annotation {tp!r} at {path}")   # a programming error


def _decode_union(tp: Any, data: Any, path: str) -> Any:
    args = get_args(tp)
    if data is None:
        if _NONE in args:
            return None
        raise _fail(path, "must not be null")
    options = [a for a in args if a is not _NONE]
    if set(options) == {date, datetime}:
        return _decode_when(data, path)
    if len(options) == 1:
        return _decode(options[0], data, path)
    raise TypeError(f"jsoncodec cannot decode the union {tp!r} at {path}")


def _decode_dataclass(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise _fail(path, f"must be an object, not {_kind(data)}")
    hints = _hints(cls)
    fields = _init_fields(cls)
    unknown = [k for k in data if k not in fields]
    if unknown:
        import difflib

        name = unknown[0]
        close = difflib.get_close_matches(name, fields, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(fields)})"
        raise _fail(_join(path, name), f"is not a member of {cls.__name__}{hint}")
    values = {}
    for name, f in fields.items():
        here = _join(path, name)
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise _fail(here, "is required")
            continue
        values[name] = _decode(hints[name], data[name], here)
    try:
        return cls(**values)
    except ShotError as exc:
        raise _fail(path, str(exc)) from None
    except (FrameRangeError, ValueError) as exc:
        raise _fail(path, str(exc)) from None


def _decode_frames(data: Any, path: str) -> FrameRange:
    if not isinstance(data, dict) or set(data) != {"first", "last"}:
        raise _fail(path, 'must be {"first": N, "last": M} (both frames included)')
    first = _decode(int, data["first"], f"{path}.first")
    last = _decode(int, data["last"], f"{path}.last")
    if last < first:
        raise _fail(path, f"the last frame {last} comes before the first {first}")
    return FrameRange.inclusive(first, last)


def _decode_fraction(data: Any, path: str) -> Fraction:
    if isinstance(data, bool) or not isinstance(data, (str, int)):
        raise _fail(path, f'must be a rate such as "24" or "24000/1001", not {_kind(data)}')
    try:
        value = Fraction(data)
    except (ValueError, ZeroDivisionError):
        raise _fail(path, f'must be a rate such as "24" or "24000/1001", not {data!r}') from None
    if value <= 0:
        raise _fail(path, f"must be above zero, not {data!r}")
    return value


def _decode_when(data: Any, path: str) -> date | datetime:
    if not isinstance(data, str):
        raise _fail(path, f"must be an ISO date (2026-05-01) or date-time with offset, not {_kind(data)}")
    try:
        if "T" not in data:
            return date.fromisoformat(data)
        value = parse_instant(data)   # 'Z' too, on 3.10 as on 3.11
    except ValueError:
        raise _fail(path, f"{data!r} is not an ISO date (2026-05-01) or date-time (2026-05-01T09:00:00+08:00)") \
            from None
    if value.utcoffset() is None:
        raise _fail(path, f"the date-time {data!r} needs its UTC offset (e.g. +08:00)")
    return value


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
