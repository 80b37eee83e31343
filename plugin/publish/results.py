"""What a publish came to, read from pyblish's results: the blocking lines, the ledger entry, the report.

Pyblish never raises: every plugin's outcome is a dict in ``context.data["results"]``
(``plugin``, ``instance``, ``error``, ...). Everything here reads those dicts and the
instances' data by duck typing, so the core needs no pyblish.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from faceright.compat import file_sha256
from faceright.findings import Finding

log = logging.getLogger(__name__)

FACESHOT = "faceright.faceshot"
DELIVERABLE = "faceright.deliverable"


def _families(instance: Any) -> set[str]:
    data = instance.data
    return {data.get("family"), *data.get("families", ())} - {None}


def _plugin_matches(plugin: Any, instance: Any) -> bool:
    families = set(getattr(plugin, "families", ["*"]) or ["*"])
    return "*" in families or bool(families & _families(instance))


def _is_instance_plugin(plugin: Any) -> bool:
    return any(base.__name__ == "InstancePlugin" for base in getattr(plugin, "__mro__", ()))


def error_lines(results: Iterable[dict]) -> list[str]:
    """One line per error of any step: ``Title (instance): finding code: message``."""
    lines: list[str] = []
    seen: set[tuple[str, str]] = set()
    for result in results:
        error = result.get("error")
        if error is None:
            continue
        plugin = result.get("plugin")
        title = getattr(plugin, "title", None) or getattr(plugin, "label", None) or getattr(plugin, "__name__", "?")
        where = f" ({result['instance'].name})" if result.get("instance") is not None else ""
        # an integrator's refusal repeats, as its messages, the lines it refused on: those are listed already
        findings = [f for f in getattr(error, "findings", ()) if f.blocks
                    and not (f.code == "publish.not_integrated"
                             and (f.message in lines or "publish.not_integrated: " in f.message))]
        if getattr(error, "findings", ()) and not findings:
            continue
        reasons = [f"{f.code}: {f.message}" for f in findings] or [f"{type(error).__name__}: {error}"]
        for reason in reasons:
            if (where, reason) not in seen:   # one cause seen by several gates is one line
                seen.add((where, reason))
                lines.append(f"{title}{where}: {reason}")
    return lines


def problems(results: Sequence[dict], gates: Sequence[Any], context: Any) -> list[str]:
    """Why nothing may be integrated: any error, or a gate of ``gates`` that did not run where it should."""
    lines = error_lines(results)
    ran = {(getattr(r.get("plugin"), "__name__", None), id(r.get("instance")) if r.get("instance") is not None else None)
           for r in results}
    for gate in gates:
        name = gate.__name__
        if _is_instance_plugin(gate):
            for instance in context:
                if _plugin_matches(gate, instance) and (name, id(instance)) not in ran:
                    lines.append(f"the gate {name} did not run on {instance.name}: it was deregistered, filtered out "
                                 "or failed to load")
        elif not any(n == name for n, _ in ran):
            lines.append(f"the gate {name} did not run: it was deregistered, filtered out or failed to load")
    return lines


# -- the ledger entry ---------------------------------------------------------------------------


def media_hash(path: Path | None) -> dict[str, Any] | None:
    """``{"path", "sha256"}`` of a file; a sequence's digest is over its files' names and digests in order."""
    if path is None:
        return None
    from .checks import _sequence_files, is_sequence

    path = Path(path)
    if is_sequence(path):
        files = _sequence_files(path)
        digest = hashlib.sha256()
        for file in files:
            digest.update(f"{file.name}\0{file_sha256(file)}\n".encode())
        return {"path": str(path), "sha256": digest.hexdigest(), "files": len(files)}
    if not path.is_file():
        return {"path": str(path), "sha256": None}
    return {"path": str(path), "sha256": file_sha256(path)}


def _findings_json(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    return [{"code": f.code, "severity": f.severity, "message": f.message} for f in findings]


def _verdicts(target: Any) -> dict[str, list[dict[str, Any]]]:
    return {name: _findings_json(found) for name, found in target.data.get("faceright_verdicts", {}).items()}


def _label_json(report: Any) -> dict[str, Any] | None:
    if report is None:
        return None
    metadata = report.evidence.get("metadata", {})
    return {"file": str(report.path), "target": report.target, "proven": report.proven,
            "readers": metadata.get("readers"), "findings": _findings_json(report.findings),
            "aigc": aigc_object(report)}


def aigc_object(report: Any) -> dict[str, Any] | None:
    """The AIGC object as the readers read it back (the first occurrence that parses)."""
    import json

    for occurrence in report.evidence.get("metadata", {}).get("occurrences", ()):
        value = occurrence.get("value")
        try:
            parsed = json.loads(value) if isinstance(value, str) else value
        except ValueError:
            continue
        if isinstance(parsed, dict):
            return parsed
    return None


def ledger_entry(session: Any, context: Any) -> dict[str, Any]:
    """The ledger's record of a passed publish: who, what, when, and every proof."""
    shots = []
    deliverable = None
    for instance in context:
        families = _families(instance)
        if FACESHOT in families:
            outcome = instance.data.get("outcome")
            shot = outcome.shot if outcome is not None else instance.data["faceshot"]
            media = shot.media(session.config.paths)
            results = shot.results
            shots.append({
                "shot_id": shot.shot_id,
                "faceshot": shot.to_json(),
                "license_id": results.license_id if results else None,
                "release_id": results.release_id if results else None,
                "produce_id": results.produce_id if results else None,
                "models": [{"name": m.name, "kind": m.kind, "sha256": m.sha256} for m in (results.models if results else ())],
                "inputs": [h for h in (media_hash(media.plate), media_hash(media.donor), media_hash(media.license),
                                       media_hash(media.release)) if h is not None],
                "outputs": [{"path": o.path, "sha256": o.sha256} for o in (results.outputs if results else ())],
                "verdicts": _verdicts(instance),
                "label": _label_json(instance.data.get("label_report")),
            })
        elif DELIVERABLE in families and instance.data.get("path") is not None:
            deliverable = {"path": str(instance.data["path"]), **(media_hash(instance.data["path"]) or {}),
                           "verdicts": _verdicts(instance), "label": _label_json(instance.data.get("label_report"))}
    timeline = media_hash(session.timeline) if session.timeline is not None else None
    return {"schema": "faceright.publish/1", "publish_id": session.publish_id, "started": session.started.isoformat(),
            "timeline": timeline, "engine": getattr(session.engine, "name", None), "shots": shots,
            "deliverable": deliverable, "verdicts": _verdicts(context)}


# -- the report ---------------------------------------------------------------------------------

def _terms(document: Any) -> dict[str, str]:
    scope, term, reach = document.scope, document.term, document.reach
    person = getattr(document, "licensor", None) or getattr(document, "performer", None)
    out = {
        "person": f"{person.person_id} ({person.jurisdiction})" if person else "",
        "issuer": document.issuer.name,
        "licensee": document.licensee.name,
        "productions": ", ".join(f"{p.project_id} {p.title}" for p in scope.productions),
        "platforms": ", ".join(scope.platforms),
        "territories": ", ".join(scope.territories),
        "term": f"{term.start.isoformat()} – {term.end.isoformat()} (UTC{term.utc_offset})",
        "uses": ", ".join(str(u) for u in document.uses.allowed),
        "prohibited content": ", ".join(str(c) for c in document.uses.prohibited_content) or "none listed",
        "tier": str(reach.tier),
    }
    return {k: v for k, v in out.items() if v}


def _document_terms(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    from faceright.licenses.document import load_signed

    try:
        return _terms(load_signed(path).document)
    except Exception as exc:   # a report never fails on a document the gates already judged
        return {"unreadable": str(exc)}


def _picture(image: Any, caption: str) -> Any:
    from faceright.report.pictures import picture

    return picture(image, caption) if image is not None else None


def _after_crop(output: Path, faces: Sequence[Any]) -> Any:
    from .checks import crop_box, read_frames

    if not faces:
        return None
    face = faces[0]
    try:
        for _, frame in read_frames(output, [face.frame]):
            return _picture(crop_box(frame, face.box, margin=0.35), f"after: output frame {face.frame}")
    except Exception as exc:   # the gates report a bad output; the report only misses its picture
        log.warning("no after-crop from %s: %s", output, exc)
    return None


def _label_evidence(report: Any, *, visible_expected: bool = True) -> Any:
    if report is None:
        return None
    from faceright.report.model import LabelEvidence

    metadata = report.evidence.get("metadata", {})
    visible = report.evidence.get("visible") or {}
    label = visible.get("label")
    crop = None
    if label and "box" in label:
        from .checks import crop_box, read_frames

        try:
            for _, frame in read_frames(Path(report.path), [0]):
                crop = _picture(crop_box(frame, label["box"], margin=0.6), "the visible label on the first frame")
        except Exception as exc:
            log.warning("no label crop from %s: %s", report.path, exc)
    return LabelEvidence(path=str(report.path), proven=report.proven, metadata=aigc_object(report),
                         readers=tuple(metadata.get("readers") or ()), visible_text=label.get("text") if label else None,
                         visible_crop=crop, findings=tuple(report.findings),
                         visible_expected=visible_expected)


def build_report(session: Any, context: Any, *, seconds: float | None = None) -> Any:
    """The :class:`~faceright.report.model.PublishReport` of this publish, passed or blocked."""
    from faceright.report.model import CheckVerdict, PublishReport, ShotSection

    from .checks import output_faces

    results = list(context.data.get("results", ()))
    verdicts = []
    for result in results:
        plugin = result.get("plugin")
        if not getattr(plugin, "title", None):
            continue   # collectors, extractors, integrators: their errors are in `blocking`
        instance = result.get("instance")
        error = result.get("error")
        target = instance if instance is not None else context
        found = getattr(error, "findings", None)
        if found is None:
            found = target.data.get("faceright_verdicts", {}).get(plugin.__name__, [])
        verdicts.append(CheckVerdict(
            plugin=plugin.__name__, title=plugin.title, instance=instance.name if instance is not None else "publish",
            passed=error is None, findings=tuple(found), repair=getattr(plugin, "repair", None) if error else None,
            error=None if error is None or hasattr(error, "findings") else f"{type(error).__name__}: {error}"))
    failed_shots = {v.instance for v in verdicts if not v.passed}
    shots = []
    deliverable = None
    for instance in context:
        families = _families(instance)
        if FACESHOT in families:
            shot = instance.data["faceshot"]
            media = shot.media(session.config.paths)
            check = session.checks.get(shot.shot_id)
            has_check = check is not None and not isinstance(check, Exception)
            coverage = check.coverage if has_check else None
            output = instance.data.get("output")
            shots.append(ShotSection(
                shot_id=shot.shot_id, passed=instance.name not in failed_shots,
                before=_picture(check.plate[0].image, f"before: {check.plate[0].source}") if has_check and check.plate else None,
                after=_after_crop(output, output_faces(check.plate, shot.plate.frames)) if has_check and output else None,
                donor=_picture(check.donor.image, f"donor: {Path(check.donor.source).name}") if has_check and check.donor else None,
                license_id=coverage.license_id if coverage else None, release_id=coverage.release_id if coverage else None,
                license_terms=_document_terms(media.license), release_terms=_document_terms(media.release),
                output=str(output) if output else None, label=_label_evidence(instance.data.get("label_report"), visible_expected=False)))
        elif DELIVERABLE in families:
            deliverable = _label_evidence(instance.data.get("label_report"))
    record = session.ledger_record
    blocking = error_lines(results)
    return PublishReport(
        publish_id=session.publish_id, timeline=str(session.timeline or session.deliverable or ""), user=session.user,
        started=session.started, passed=not blocking and record is not None, verdicts=tuple(verdicts),
        shots=tuple(shots), deliverable=deliverable, blocking=tuple(blocking),
        ledger=f"record {record.sequence}, hash {record.hash}" if record is not None else None, seconds=seconds)


def write_report(session: Any, context: Any, *, seconds: float | None = None) -> Path:
    """Write the publish's report page into the publish folder; its path."""
    from faceright.report.html import write_report as write_page

    path = session.out / f"{session.publish_name}.report.html"
    if seconds is None:   # the integrator's call: the publish so far
        seconds = (datetime.now(timezone.utc) - session.started).total_seconds()
    write_page(build_report(session, context, seconds=seconds), path)
    return path
