"""Plain-text tables for the terminal: each column padded to its widest cell, two spaces apart."""
from __future__ import annotations

from typing import Sequence


def format_table(rows: Sequence[Sequence[str]]) -> str:
    """``rows`` (the first may be a header) as aligned lines, without trailing spaces."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
