"""What a publish report shows: plain, frozen data the publish fills in and the page renders.

The integrator of a publish (``faceright.validators``) builds a :class:`PublishReport` from
what the collectors, validators and extractors found; :mod:`faceright.report.html` turns it
into one self-contained HTML page (pictures inlined), which opens with no server.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from faceright.findings import Finding


@dataclass(frozen=True)
class Picture:
    """An image for the page (already cropped and scaled by whoever made it), as PNG bytes."""

    png: bytes
    caption: str


@dataclass(frozen=True)
class CheckVerdict:
    """One validator's verdict on one instance: its artist-facing title, what it found, how to repair."""

    plugin: str                          #: the plugin's class name, e.g. "ValidateLicense"
    title: str                           #: artist-facing, e.g. "Likeness license covers this use"
    instance: str                        #: the shot id or the deliverable's name
    passed: bool
    findings: tuple[Finding, ...] = ()   #: every finding, blocking or not
    repair: str | None = None            #: what to do when it failed (a sentence), if anything
    error: str | None = None             #: the plugin itself crashed: its one-line error


@dataclass(frozen=True)
class LabelEvidence:
    """The AIGC label as the independent readers found it in a written file."""

    path: str
    proven: bool
    metadata: Mapping[str, Any] | None = None      #: the AIGC object as read back (Label, ContentProducer, ...)
    readers: tuple[str, ...] = ()                  #: which readers found it (e.g. "ffprobe", "mp4 udta/meta")
    visible_text: str | None = None                #: the visible label as OCR read it
    visible_crop: Picture | None = None            #: a crop of the frame where OCR found it
    findings: tuple[Finding, ...] = ()
    visible_expected: bool = True                  #: False for a shot's output: only the deliverable shows text


@dataclass(frozen=True)
class ShotSection:
    """One face shot: before/after crops, the terms that applied, the label evidence."""

    shot_id: str
    passed: bool
    before: Picture | None = None                  #: the plate face
    after: Picture | None = None                   #: the same face in the rendered output
    donor: Picture | None = None                   #: the licensed donor's face
    license_id: str | None = None
    release_id: str | None = None
    license_terms: Mapping[str, str] = field(default_factory=dict)   #: label -> value, in display order
    release_terms: Mapping[str, str] = field(default_factory=dict)
    output: str | None = None
    label: LabelEvidence | None = None


@dataclass(frozen=True)
class PublishReport:
    """A whole publish: who, what, when, the verdicts, each shot, the deliverable, the ledger entry."""

    publish_id: str
    timeline: str                                  #: the OTIO file (or the host's timeline name)
    user: str
    started: datetime
    passed: bool                                   #: False: blocked, nothing was extracted or integrated
    verdicts: tuple[CheckVerdict, ...] = ()
    shots: tuple[ShotSection, ...] = ()
    deliverable: LabelEvidence | None = None
    blocking: tuple[str, ...] = ()                 #: one line per blocking reason, as the CLI prints them
    ledger: str | None = None                      #: "sequence N, hash ..." of the ledger record written
    seconds: float | None = None
