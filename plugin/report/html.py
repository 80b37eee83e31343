"""The publish report as one self-contained HTML page: what artists, TDs and compliance look at.

The page opens from a file with no server and no network: the stylesheet is inline, pictures
and the label font are ``data:`` URIs, there is no script, and a Content-Security-Policy
forbids loading anything else. Every text that comes from the data (shot ids, license terms,
OCR text, file paths) is escaped, because users and files write those.

Top to bottom, in the order a reader asks: did it pass (the banner), why not (the blocking
reasons), which check said what (the verdicts), and per shot the faces, the terms that
applied and the AIGC label as read back; then the deliverable's label and the ledger line.
"""
from __future__ import annotations

import base64
import html
import json
import logging
import struct
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from faceright import __version__
from faceright.atomic import write_replacing
from faceright.findings import Finding
from faceright.labels.aigc import LABEL_VALUES
from faceright.labels.fonts import default_font_path

from .model import CheckVerdict, LabelEvidence, Picture, PublishReport, ShotSection

__all__ = ["render_html", "write_report"]

log = logging.getLogger(__name__)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: the page may load nothing but its own inline style, data: pictures and the data: label font
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"


def render_html(report: PublishReport) -> str:
    """The whole page for ``report``, as text (UTF-8 when written)."""
    status = "PASSED" if report.passed else "BLOCKED"
    anchors = {shot.shot_id: f"shot-{index}" for index, shot in enumerate(report.shots, 1)}
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        "<meta name=\"color-scheme\" content=\"light\">\n",
        f"<meta name=\"generator\" content=\"faceright {_e(__version__)}\">\n",
        f"<title>{status} · {_e(report.timeline)} · faceright publish {_e(report.publish_id)}</title>\n",
        "<style>\n", _font_face(), _CSS, "</style>\n</head>\n<body>\n",
        _banner(report),
        "<main>\n",
        _blocking(report),
        _shots(report),
        _deliverable(report.deliverable),
        _verdicts(report.verdicts, anchors),
        "</main>\n",
        _footer(report),
        "</body>\n</html>\n",
    ]
    return "".join(parts)


def write_report(report: PublishReport, path: Path) -> Path:
    """Write the page for ``report`` to ``path`` (its folder is created), whole or not at all: a
    failed write leaves a previous report under that name as it was. Returns ``path``."""
    path = Path(path)
    write_replacing(path, render_html(report).encode("utf-8"))
    log.info("wrote the publish report %s", path)
    return path


# -- text -----------------------------------------------------------------------------------------

def _e(value: object) -> str:
    """``value`` as HTML text, safe in element content and in quoted attributes."""
    return html.escape(str(value), quote=True)


def _when(started: datetime) -> str:
    offset = started.utcoffset()
    text = started.strftime("%Y-%m-%d %H:%M:%S")
    if offset is None:
        return text
    if offset == timedelta(0):
        return f"{text} UTC"
    return f"{text} UTC{started.strftime('%z')[:3]}:{started.strftime('%z')[3:]}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _value(value: Any) -> str:
    """A metadata or detail value as text: strings as they are, the rest as compact JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


# -- parts of the page --------------------------------------------------------------------------

def _banner(report: PublishReport) -> str:
    status, css = ("PASSED", "passed") if report.passed else ("BLOCKED", "blocked")
    failed = sum(1 for v in report.verdicts if not v.passed)
    blocked_shots = sum(1 for s in report.shots if not s.passed)
    checks = _plural(len(report.verdicts), "check")
    summary = f"{checks}, {failed} failed" if failed else f"{checks}, all passed"
    shots = _plural(len(report.shots), "shot")
    shots += f", {blocked_shots} blocked" if blocked_shots else ""
    return (
        f"<header class=\"banner {css}\">\n"
        f"<div class=\"status\">{status}</div>\n"
        "<div class=\"what\">\n"
        f"<div class=\"timeline\">{_e(report.timeline)}</div>\n"
        "<dl class=\"facts\">"
        f"<div><dt>User</dt><dd>{_e(report.user)}</dd></div>"
        f"<div><dt>Started</dt><dd><time datetime=\"{_e(report.started.isoformat())}\">"
        f"{_e(_when(report.started))}</time></dd></div>"
        f"<div><dt>Duration</dt><dd>{_e(_duration(report.seconds))}</dd></div>"
        f"<div><dt>Publish</dt><dd><code>{_e(report.publish_id)}</code></dd></div>"
        "</dl>\n</div>\n"
        f"<div class=\"summary\"><div>{_e(summary)}</div><div>{_e(shots)}</div></div>\n"
        "</header>\n"
    )


def _blocking(report: PublishReport) -> str:
    if not report.blocking and report.passed:
        return ""
    if report.blocking:
        items = "".join(f"<li>{_e(line)}</li>\n" for line in report.blocking)
        body = f"<ol class=\"reasons\">\n{items}</ol>\n"
    else:
        body = "<p class=\"muted\">No blocking reason was recorded; see the failed checks below.</p>\n"
    title = "Why it is blocked" if not report.passed else "Blocking reasons"
    return f"<section class=\"blocking\" id=\"blocking\">\n<h2>{title}</h2>\n{body}</section>\n"


def _verdicts(verdicts: tuple[CheckVerdict, ...], anchors: Mapping[str, str]) -> str:
    if not verdicts:
        return ("<section id=\"checks\">\n<h2>Checks</h2>\n"
                "<p class=\"muted\">No check ran.</p>\n</section>\n")
    rows = "".join(_verdict_row(index, v, anchors) for index, v in enumerate(verdicts, 1))
    failed = sum(1 for v in verdicts if not v.passed)
    count = f"{len(verdicts)} run, {failed} failed" if failed else f"{len(verdicts)} run, all passed"
    return (
        "<section id=\"checks\">\n"
        f"<h2>Checks <span class=\"count\">{_e(count)}</span></h2>\n"
        "<table class=\"verdicts\">\n<colgroup><col class=\"c-status\"><col class=\"c-check\">"
        "<col class=\"c-instance\"><col class=\"c-findings\"><col class=\"c-repair\"></colgroup>\n"
        "<thead><tr><th>Result</th><th>Check</th><th>On</th><th>Findings</th><th>How to repair</th></tr></thead>\n"
        f"<tbody>\n{rows}</tbody>\n</table>\n</section>\n"
    )


def _verdict_row(index: int, verdict: CheckVerdict, anchors: Mapping[str, str]) -> str:
    if verdict.error is not None:
        pill, row = "<span class=\"pill error\">ERROR</span>", "crashed"
    elif verdict.passed:
        pill, row = "<span class=\"pill pass\">PASS</span>", "ok"
    else:
        pill, row = "<span class=\"pill fail\">FAIL</span>", "failed"
    findings = ""
    if verdict.error is not None:
        findings += ("<p class=\"crash\"><strong>The check itself failed</strong>, so it counts as failed: "
                     f"<code>{_e(verdict.error)}</code></p>")
    findings += _findings(verdict.findings) if verdict.findings else (
        "" if verdict.error is not None else "<span class=\"muted\">nothing to report</span>")
    repair = "" if verdict.passed and verdict.error is None else _e(verdict.repair or "")
    anchor = anchors.get(verdict.instance)
    instance = _e(verdict.instance)
    if anchor is not None:
        instance = f"<a href=\"#{anchor}\">{instance}</a>"
    return (
        f"<tr class=\"{row}\" id=\"check-{index}\">"
        f"<td>{pill}</td>"
        f"<td><div class=\"title\">{_e(verdict.title)}</div><div class=\"plugin\">{_e(verdict.plugin)}</div></td>"
        f"<td class=\"instance\">{instance}</td>"
        f"<td>{findings}</td>"
        f"<td class=\"repair\">{repair}</td>"
        "</tr>\n"
    )


def _findings(findings: Iterable[Finding]) -> str:
    items = []
    for finding in findings:
        detail = ""
        if finding.detail:
            pairs = "; ".join(f"{_e(key)}: {_e(_value(value))}" for key, value in finding.detail.items())
            detail = f"<div class=\"detail\">{pairs}</div>"
        items.append(
            f"<li class=\"finding {_e(finding.severity)}\">"
            f"<span class=\"sev\">{_e(finding.severity)}</span>"
            f"<code class=\"code\">{_e(finding.code)}</code> "
            f"<span class=\"message\">{_e(finding.message)}</span>{detail}</li>\n")
    return f"<ul class=\"findings\">\n{''.join(items)}</ul>" if items else ""


def _shots(report: PublishReport) -> str:
    if not report.shots:
        return ""
    failed: dict[str, list[tuple[int, CheckVerdict]]] = {}
    for index, verdict in enumerate(report.verdicts, 1):
        if not verdict.passed:
            failed.setdefault(verdict.instance, []).append((index, verdict))
    cards = "".join(_shot(index, shot, failed.get(shot.shot_id, []))
                    for index, shot in enumerate(report.shots, 1))
    blocked = sum(1 for s in report.shots if not s.passed)
    count = _plural(len(report.shots), "shot") + (f", {blocked} blocked" if blocked else "")
    return f"<section id=\"shots\">\n<h2>Shots <span class=\"count\">{_e(count)}</span></h2>\n{cards}</section>\n"


def _shot(index: int, shot: ShotSection, failed: list[tuple[int, CheckVerdict]]) -> str:
    status = "<span class=\"pill pass\">PASSED</span>" if shot.passed else "<span class=\"pill fail\">BLOCKED</span>"
    output = (f"<div class=\"output\"><span class=\"k\">Output</span> <code>{_e(shot.output)}</code></div>"
              if shot.output else "<div class=\"output muted\">No output was written</div>")
    failures = ""
    if failed:
        links = ", ".join(f"<a href=\"#check-{i}\">{_e(v.title)}</a>" for i, v in failed)
        failures = f"<div class=\"failures\">{_e(_plural(len(failed), 'check'))} failed: {links}</div>\n"
    figures = "".join((_figure(shot.before, "Plate"), _figure(shot.after, "Result"),
                       _figure(shot.donor, "Donor")))
    terms = (_terms("Likeness license", shot.license_id, shot.license_terms)
             + _terms("Plate release", shot.release_id, shot.release_terms))
    label = _label(shot.label, "AIGC label of this shot") if shot.label is not None else (
        "<div class=\"evidence none\"><h4>AIGC label of this shot</h4>"
        "<p class=\"muted\">No label evidence: the output was not labelled or not read back.</p></div>\n")
    css = "passed" if shot.passed else "blocked"
    return (
        f"<article class=\"card {css}\" id=\"shot-{index}\">\n"
        f"<div class=\"card-head\"><h3>{_e(shot.shot_id)}</h3>{status}{output}</div>\n"
        f"{failures}"
        f"<div class=\"card-body\">\n<div class=\"faces\">{figures}</div>\n"
        f"<div class=\"terms\">{terms}</div>\n</div>\n"
        f"{label}"
        "</article>\n"
    )


def _figure(pic: Picture | None, role: str) -> str:
    if pic is None:
        return (f"<figure class=\"thumb empty\"><div class=\"frame\"><span>no picture</span></div>"
                f"<figcaption><span class=\"role\">{_e(role)}</span></figcaption></figure>")
    return (f"<figure class=\"thumb\"><div class=\"frame\">{_img(pic)}</div>"
            f"<figcaption><span class=\"role\">{_e(role)}</span> {_e(pic.caption)}</figcaption></figure>")


def _img(pic: Picture) -> str:
    size = _png_size(pic.png)
    dims = f" width=\"{size[0]}\" height=\"{size[1]}\"" if size else ""
    data = base64.b64encode(pic.png).decode("ascii")
    return f"<img src=\"data:image/png;base64,{data}\"{dims} alt=\"{_e(pic.caption)}\">"


def _png_size(png: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk, so the page lays out before it decodes."""
    if len(png) < 24 or not png.startswith(_PNG_SIGNATURE) or png[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _terms(title: str, document_id: str | None, terms: Mapping[str, str]) -> str:
    ident = (f"<code class=\"doc-id\">{_e(document_id)}</code>" if document_id
             else "<span class=\"missing\">none given</span>")
    rows = "".join(f"<dt>{_e(key)}</dt><dd>{_e(value)}</dd>" for key, value in terms.items())
    body = f"<dl class=\"kv\">{rows}</dl>" if rows else "<p class=\"muted\">No terms recorded.</p>"
    return f"<div class=\"doc\"><h4>{_e(title)} {ident}</h4>{body}</div>\n"


def _label(evidence: LabelEvidence, title: str) -> str:
    proven = ("<span class=\"pill pass\">PROVEN</span>" if evidence.proven
              else "<span class=\"pill fail\">NOT PROVEN</span>")
    if evidence.metadata:
        rows = "".join(f"<tr><th>{_e(key)}</th><td>{_metadata_cell(key, value)}</td></tr>"
                       for key, value in evidence.metadata.items())
        metadata = f"<table class=\"meta\">{rows}</table>"
    else:
        metadata = "<p class=\"missing\">No AIGC metadata was read back from the file.</p>"
    readers = ("".join(f"<span class=\"chip\">{_e(r)}</span>" for r in evidence.readers)
               if evidence.readers else "<span class=\"missing\">no reader found it</span>")
    crop = (f"<figure class=\"crop\">{_img(evidence.visible_crop)}"
            f"<figcaption>{_e(evidence.visible_crop.caption)}</figcaption></figure>"
            if evidence.visible_crop is not None else "")
    text = (f"<div class=\"ocr\"><span class=\"k\">OCR read</span> "
            f"<q lang=\"zh-Hans\">{_e(evidence.visible_text)}</q></div>"
            if evidence.visible_text
            else "<p class=\"missing\">OCR found no visible label.</p>" if evidence.visible_expected
            else "<p class=\"muted\">Not required here: a shot's output carries the implicit label; the deliverable "
                 "a viewer gets carries the visible one.</p>")
    findings = _findings(evidence.findings)
    css = "proven" if evidence.proven else "unproven"
    return (
        f"<div class=\"evidence {css}\">\n"
        f"<div class=\"evidence-head\"><h4>{_e(title)}</h4>{proven}<code>{_e(evidence.path)}</code></div>\n"
        "<div class=\"evidence-body\">\n"
        f"<div class=\"implicit\"><h5>Implicit label (metadata)</h5>{metadata}"
        f"<div class=\"readers\"><span class=\"k\">Found by</span> {readers}</div></div>\n"
        f"<div class=\"visible\"><h5>Visible label</h5>{crop}{text}</div>\n"
        "</div>\n"
        f"{findings}"
        "</div>\n"
    )


def _metadata_cell(key: str, value: Any) -> str:
    """One metadata value as HTML: the Label code with its meaning, an empty field said so."""
    text = _value(value)
    if text == "":
        return "<span class=\"muted\">(empty)</span>"
    if key == "Label" and text in LABEL_VALUES:
        return f"{_e(text)} <span class=\"muted\">({_e(LABEL_VALUES[text])})</span>"
    return _e(text)


def _deliverable(evidence: LabelEvidence | None) -> str:
    if evidence is None:
        return ""
    return f"<section id=\"deliverable\">\n<h2>Deliverable</h2>\n{_label(evidence, 'AIGC label of the deliverable')}</section>\n"


def _footer(report: PublishReport) -> str:
    if report.ledger:
        ledger = f"<span class=\"k\">Ledger</span> <code>{_e(report.ledger)}</code>"
    elif report.passed:
        ledger = "<span class=\"k\">Ledger</span> <span class=\"missing\">no ledger record was written</span>"
    else:
        ledger = "<span class=\"k\">Ledger</span> <span class=\"muted\">nothing recorded: the publish was blocked</span>"
    return (f"<footer>\n<div class=\"ledger\">{ledger}</div>\n"
            f"<div class=\"made\">faceright {_e(__version__)} · publish <code>{_e(report.publish_id)}</code></div>\n"
            "</footer>\n")


def _font_face() -> str:
    """The shipped label font (an OFL subset of Noto Sans CJK SC) for CJK text only, inlined, so
    "AI生成" shows on machines with no CJK font (farm nodes, minimal Linux)."""
    try:
        data = default_font_path().read_bytes()
    except OSError as exc:
        log.warning("the report goes without its CJK font: %s", exc)
        return ""
    encoded = base64.b64encode(data).decode("ascii")
    return ("@font-face { font-family: \"FaceRight Label SC\"; font-weight: 100 900; "
            f"src: url(data:font/otf;base64,{encoded}) format(\"opentype\"); "
            "unicode-range: U+2E80-2FFF, U+3000-303F, U+3400-9FFF, U+F900-FAFF, U+FF00-FFEF; }\n")


_CSS = """
:root {
  --pass: #17803d; --pass-bg: #e7f5ec; --fail: #b42318; --fail-bg: #fdecea; --error: #6b2fa3;
  --error-bg: #f3ecfa; --warn: #a15c07; --warn-bg: #fdf3e1; --info: #475467; --ink: #1d2330;
  --muted: #667085; --line: #d9dde3; --paper: #ffffff; --ground: #f2f4f7; --viewer: #1b1e24;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--ground); color: var(--ink); font-size: 14px; line-height: 1.4;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "Liberation Sans",
    Arial, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "FaceRight Label SC", sans-serif; }
code, .code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono",
  "FaceRight Label SC", monospace; font-size: 12.5px; overflow-wrap: anywhere; }
a { color: inherit; }
h2 { font-size: 15px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 22px 0 8px; }
h2 .count { text-transform: none; letter-spacing: 0; font-weight: 400; margin-left: 8px; }
h3 { font-size: 17px; margin: 0; overflow-wrap: anywhere; }
h4 { font-size: 13px; margin: 0 0 6px; }
h5 { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: 0 0 6px; }
.muted { color: var(--muted); }
.missing { color: var(--fail); font-style: italic; }
.k { color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .05em; margin-right: 4px; }

.banner { display: flex; align-items: center; gap: 24px; padding: 16px 28px; color: #fff; }
.banner.passed { background: var(--pass); }
.banner.blocked { background: var(--fail); }
.banner .status { font-size: 30px; font-weight: 800; letter-spacing: .08em; padding-right: 24px;
  border-right: 2px solid rgba(255,255,255,.45); }
.banner .what { flex: 1; min-width: 0; }
.banner .timeline { font-size: 18px; font-weight: 600; overflow-wrap: anywhere; }
.banner .facts { display: flex; flex-wrap: wrap; gap: 4px 22px; margin: 4px 0 0; }
.banner .facts div { display: flex; gap: 6px; }
.banner dt { opacity: .8; font-size: 11px; text-transform: uppercase; letter-spacing: .05em; line-height: 20px; }
.banner dd { margin: 0; font-weight: 600; }
.banner code { font-size: 13px; }
.banner .summary { text-align: right; font-weight: 600; white-space: nowrap; }

main { max-width: 1240px; margin: 0 auto; padding: 4px 20px 12px; }
section { margin-bottom: 8px; }

.blocking { background: var(--fail-bg); border: 1px solid #f4c7c1; border-left: 5px solid var(--fail);
  border-radius: 6px; padding: 2px 16px 10px; margin-top: 16px; }
.blocking h2 { color: var(--fail); margin-top: 10px; }
.reasons { margin: 0; padding-left: 22px; }
.reasons li { padding: 2px 0; font-weight: 500; }

table { border-collapse: collapse; width: 100%; }
.verdicts { background: var(--paper); border: 1px solid var(--line); border-radius: 6px; table-layout: fixed; }
.verdicts th { text-align: left; font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted);
  background: #f8f9fb; padding: 7px 10px; border-bottom: 1px solid var(--line); }
.verdicts td { padding: 7px 10px; border-top: 1px solid #eceef2; vertical-align: top; overflow-wrap: anywhere; }
.verdicts col.c-status { width: 78px; } .verdicts col.c-check { width: 24%; }
.verdicts col.c-instance { width: 12%; } .verdicts col.c-repair { width: 24%; }
.verdicts tr.failed td { background: #fff8f7; }
.verdicts tr.failed td:first-child { box-shadow: inset 4px 0 0 var(--fail); }
.verdicts tr.crashed td { background: #fbf8fe; }
.verdicts tr.crashed td:first-child { box-shadow: inset 4px 0 0 var(--error); }
.verdicts .title { font-weight: 600; }
.verdicts .plugin { color: var(--muted); font-size: 12px; font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; }
.verdicts .repair { color: #7a271a; }
.crash { margin: 0 0 4px; color: var(--error); }

.pill { display: inline-block; font-size: 11px; font-weight: 700; letter-spacing: .05em; border-radius: 10px;
  padding: 1px 8px; white-space: nowrap; vertical-align: middle; }
.pill.pass { background: var(--pass-bg); color: var(--pass); border: 1px solid #a6dbb8; }
.pill.fail { background: var(--fail-bg); color: var(--fail); border: 1px solid #f1b0a8; }
.pill.error { background: var(--error-bg); color: var(--error); border: 1px solid #cdb3e6; }

.findings { list-style: none; margin: 0; padding: 0; }
.finding { padding: 1px 0 3px; }
.finding .sev { display: inline-block; min-width: 52px; font-size: 10.5px; font-weight: 700; text-transform: uppercase;
  letter-spacing: .04em; margin-right: 6px; }
.finding.error .sev { color: var(--fail); } .finding.warning .sev { color: var(--warn); }
.finding.info .sev { color: var(--info); } .finding.info .message { color: var(--muted); }
.finding .code { background: #eef0f4; border-radius: 3px; padding: 0 4px; }
.finding.error .code { background: var(--fail-bg); color: var(--fail); }
.finding.warning .code { background: var(--warn-bg); color: var(--warn); }
.finding .detail { color: var(--muted); font-size: 12px; margin-left: 58px; overflow-wrap: anywhere; }

.card { background: var(--paper); border: 1px solid var(--line); border-radius: 6px; margin-bottom: 14px;
  border-top: 4px solid var(--pass); }
.card.blocked { border-top-color: var(--fail); }
.card-head { display: flex; align-items: center; flex-wrap: wrap; gap: 6px 12px; padding: 10px 14px;
  border-bottom: 1px solid #eceef2; }
.card-head .output { margin-left: auto; max-width: 60%; }
.failures { padding: 6px 14px; background: var(--fail-bg); color: var(--fail); font-weight: 500; }
.card-body { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: 16px; padding: 12px 14px; }
.faces { display: flex; gap: 10px; align-items: flex-start; }
.thumb { margin: 0; width: 256px; }
.thumb .frame { width: 256px; height: 256px; background: var(--viewer); border-radius: 4px; display: flex;
  align-items: center; justify-content: center; overflow: hidden; }
.thumb img { display: block; max-width: 256px; max-height: 256px; width: auto; height: auto; }
.thumb.empty .frame span { color: #8a93a3; font-size: 12px; }
.thumb figcaption { font-size: 12px; color: var(--muted); padding-top: 4px; overflow-wrap: anywhere; }
.role { font-weight: 700; color: var(--ink); text-transform: uppercase; font-size: 11px; letter-spacing: .05em;
  margin-right: 4px; }
.terms { display: flex; flex-direction: column; gap: 12px; min-width: 0; }
.doc h4 code { font-weight: 600; margin-left: 4px; }
.kv { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 12px; margin: 0; font-size: 13px; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; overflow-wrap: anywhere; }

.evidence { border-top: 1px solid #eceef2; padding: 10px 14px 12px; }
section > .evidence { background: var(--paper); border: 1px solid var(--line); border-radius: 6px;
  border-top: 4px solid var(--pass); }
section > .evidence.unproven { border-top-color: var(--fail); }
.evidence-head { display: flex; align-items: center; flex-wrap: wrap; gap: 6px 10px; margin-bottom: 8px; }
.evidence-head h4 { margin: 0; }
.evidence-head code { color: var(--muted); }
.evidence-body { display: grid; grid-template-columns: minmax(0, 1.3fr) minmax(0, 1fr); gap: 16px; margin-bottom: 6px; }
.meta { font-size: 12.5px; }
.meta th { text-align: left; font-weight: 500; color: var(--muted); padding: 2px 12px 2px 0; white-space: nowrap;
  vertical-align: top; width: 1%; }
.meta td { padding: 2px 0; font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", "FaceRight Label SC", monospace;
  overflow-wrap: anywhere; }
.meta tr + tr th, .meta tr + tr td { border-top: 1px solid #f0f1f4; }
.readers { margin-top: 6px; }
.chip { display: inline-block; background: #eef0f4; border-radius: 10px; padding: 0 8px; margin: 0 4px 2px 0;
  font-size: 12px; }
.crop { margin: 0 0 6px; display: inline-block; }
.crop img { display: block; max-width: 100%; height: auto; background: var(--viewer); border-radius: 3px; }
.crop figcaption { font-size: 12px; color: var(--muted); }
.ocr q { font-size: 18px; font-weight: 700; quotes: "“" "”"; white-space: pre-wrap; }

footer { max-width: 1240px; margin: 0 auto; padding: 10px 20px 28px; display: flex; justify-content: space-between;
  gap: 16px; color: var(--muted); border-top: 1px solid var(--line); }
footer code { color: var(--ink); }

@media screen and (max-width: 1000px) {
  .card-body, .evidence-body { grid-template-columns: minmax(0, 1fr); }
  .faces { flex-wrap: wrap; }
  .banner { flex-wrap: wrap; }
}
@media print {
  @page { size: A4 landscape; margin: 10mm; }
  body { background: #fff; font-size: 11px; }
  .banner, .pill, .failures, .blocking, .verdicts tr td, .thumb .frame, .card, section > .evidence {
    -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  main, footer { max-width: none; padding-left: 0; padding-right: 0; }
  .card, .evidence, .verdicts tr, .blocking { break-inside: avoid; }
  h2 { break-after: avoid; }
  a { text-decoration: none; }
}
"""
