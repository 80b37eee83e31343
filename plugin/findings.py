"""Findings: what a check found, with a stable code a script can rely on.

License verification, label verification and the publish validators all answer with a
list of findings rather than a bare bool, so a person is told exactly why something blocks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Mapping

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One observation. ``code`` is stable (``license.expired``); ``message`` is for people."""

    code: str
    severity: Severity
    message: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")

    @property
    def blocks(self) -> bool:
        return self.severity == "error"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "severity": self.severity, "message": self.message}
        if self.detail:
            out["detail"] = dict(self.detail)
        return out


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that stop a publish, a verify or an export."""
    return [f for f in findings if f.blocks]
