"""Label an existing file: metadata, visible text, C2PA; then prove it by reading it back.

Order matters (compliance.md §3.1): burn the visible text → write the AIGC metadata →
C2PA-sign last. Re-encoding video is the engine's work, so this runs through the engine
client (:func:`faceright.engine_client.open_engine`); the caller gets an
:class:`~faceright.engine_client.ApplyResult` whose report counts only if it proves the label.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from faceright.engine_client import ApplyResult, EngineClient, open_engine

from .policy import LabelSettings


def apply_labels(src: Path, dst: Path, settings: LabelSettings, *, engine: EngineClient | None = None,
                 **options: Any) -> ApplyResult:
    """Write ``dst``: ``src`` labelled per ``settings`` (``visible=``, ``c2pa=``, ``produce_id=``,
    ``plate=``, ``key=``, ``ocr=``, ``overwrite=``), verified by reading it back."""
    if engine is not None:
        return engine.apply_labels(Path(src), Path(dst), settings, **options)
    with open_engine() as local:
        return local.apply_labels(Path(src), Path(dst), settings, **options)
