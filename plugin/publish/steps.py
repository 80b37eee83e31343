"""The mechanical steps of a publish that the plugins ask for: the cut to conform, labelling again,
refreshing revocation lists. Each goes through the engine client or the core, never the engine."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from faceright.findings import Finding
from faceright.frames import FrameRange
from faceright.shot import FaceShot

log = logging.getLogger(__name__)


def conform_clips(cuts: Sequence[Any], outcomes: Mapping[str, Any], roots: Any) -> tuple[list[Any], list[Finding]]:
    """The cut as :class:`~faceright.deliverable.ConformClip`s: each clip's own media and range, a face
    shot's clip from its swapped output (which holds exactly the clip's frames)."""
    from faceright.deliverable import ConformClip

    clips: list[Any] = []
    findings: list[Finding] = []
    for cut in cuts:
        if cut.shot_id is not None:
            outcome = outcomes.get(cut.shot_id)
            if outcome is None:
                findings.append(Finding("deliverable.shot_not_rendered", "error",
                                        f"face shot {cut.shot_id!r} (clip {cut.name!r}) was not swapped, so the cut "
                                        "cannot use it", {"clip": cut.name}))
                continue
            output = outcome.shot.media(roots).output
            frames = cut.frames if "%" in output.name else FrameRange.from_count(len(cut.frames))
            clips.append(ConformClip(output, frames, cut.name, cut.rate if "%" in output.name else None))
        elif cut.media is None or cut.frames is None:
            findings.append(Finding("deliverable.clip_unrenderable", "error",
                                    f"clip {cut.name!r} has no media file faceright can read (a generator or missing "
                                    "media), so faceright cannot conform the cut", {"clip": cut.name}))
        else:
            clips.append(ConformClip(cut.media, cut.frames, cut.name, cut.rate if "%" in cut.media.name else None))
    if not clips and not findings:
        findings.append(Finding("deliverable.empty", "error", "the timeline's video track has no clip to conform"))
    return clips, findings


def make_output_folder(output: Path) -> Path:
    """The folder a shot's output goes into (an image sequence's own folder too), made when missing."""
    from faceright.atomic import make_folder

    return make_folder(Path(output).parent)


def relabel(engine: Any, output: Path, settings: Any, *, visible: bool) -> Any:
    """Label ``output`` again in place: a labelled copy is written, proven, then renamed over it."""
    output = Path(output)
    temp = output.with_name(f".{output.stem}.relabel{output.suffix}")
    result = engine.apply_labels(output, temp, settings, visible=visible, overwrite=True)
    if not result.report.proven:
        temp.unlink(missing_ok=True)
        return result
    os.replace(temp, output)
    return result


def labelled_copy(engine: Any, path: Path, settings: Any) -> Path:
    """A labelled copy of ``path`` beside it (``name.labelled.ext``): visible text + metadata; ``path`` is kept."""
    path = Path(path)
    target = path.with_name(f"{path.stem}.labelled{path.suffix}")
    engine.apply_labels(path, target, settings, visible=True, overwrite=True)
    return target


def refresh_revocations(config: Any, shot: FaceShot) -> list[Finding]:
    """Fetch and cache the revocation lists of the registries ``shot``'s license and release name."""
    import requests

    from faceright.errors import LicenseError
    from faceright.licenses import revocation
    from faceright.licenses.document import load_signed

    media = shot.media(config.paths)
    targets: dict[str, str | None] = {}
    for path in (media.license, media.release):
        if path is not None and path.is_file():
            document = load_signed(path).document
            targets[document.revocation.registry_url.rstrip("/")] = document.revocation.registry_key_id
    findings: list[Finding] = []
    with requests.Session() as http:
        client = revocation.RegistryClient(http, config.licenses)
        for url, key in targets.items():
            try:
                listing = revocation.refresh_list(client, config.revocation_store(), config.keyring(), url, key_id=key)
            except LicenseError as exc:
                findings.append(Finding("license.revocation_refresh_failed", "error", f"{url}: {exc}", {"registry": url}))
            else:
                findings.append(Finding("license.revocation_refreshed", "info",
                                        f"{url}: list issued {listing.issued_at.isoformat()} cached",
                                        {"registry": url}))
    return findings
