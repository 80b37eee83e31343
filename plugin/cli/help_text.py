"""Docstrings shown as ``--help`` text: the reST markup a reader of the code wants, plain for a terminal."""
from __future__ import annotations

import re

_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def plain(doc: str | None) -> str:
    """``doc`` without reST roles (``:class:`X``` → X) and literal quotes (````x```` → x)."""
    return _LITERAL.sub(r"\1", _ROLE.sub(r"\1", doc or "")).strip()
