"""``faceright engine``: run the engine service, and look after it from a terminal.

    faceright engine serve [--listen HOST:PORT]        (loopback by default; a token beyond it)
    faceright engine status [--url URL] [--json]
    faceright engine jobs [--state STATE] [--limit N] [--json]
    faceright engine submit SHOT.json [--no-wait]      (follows the job with a progress bar)
    faceright engine cancel JOB
    faceright engine resume JOB

Every command but ``serve`` is a client of the service at ``--url``, ``[service] url`` or
``FACERIGHT_SERVICE_URL`` and imports neither onnxruntime nor the web stack. Exit codes: 0 done,
1 a job that failed or was refused, 5 the service refused the request or cannot be reached.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from faceright.cli.table import format_table


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("engine", help="the engine service: serve it, see its jobs, cancel or resume one",
                            description="Run the engine once per GPU machine and share it: every artist's host "
                                        "and the CLI submit FaceShots to it.")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
    cmds = parser.add_subparsers(dest="engine_command", metavar="ACTION")

    serve = cmds.add_parser("serve", help="run the service (models loaded once, one queue per device)")
    serve.add_argument("--listen", metavar="HOST:PORT", help="address to listen on (default: [service] listen, "
                       "127.0.0.1:8765); any address beyond loopback needs a token")
    serve.set_defaults(func=_serve)

    def client(name: str, help_text: str) -> argparse.ArgumentParser:
        p = cmds.add_parser(name, help=help_text)
        p.add_argument("--url", help="the service (default: [service] url or FACERIGHT_SERVICE_URL)")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    status = client("status", "is the service up; its devices and queues")
    status.set_defaults(func=_status)
    jobs = client("jobs", "the newest jobs, with their state and progress")
    jobs.add_argument("--state", choices=("queued", "running", "done", "failed", "cancelled"),
                      help="only the jobs in this state")
    jobs.add_argument("--limit", type=int, default=20, help="how many of the newest (default 20)")
    jobs.set_defaults(func=_jobs)
    submit = client("submit", "submit a FaceShot (.json) and follow it")
    submit.add_argument("shot", type=Path, metavar="SHOT.json", help="the FaceShot document to swap")
    submit.add_argument("--no-wait", action="store_true", help="print the job id and return at once")
    submit.add_argument("--no-progress", action="store_true", help="no progress bar")
    submit.set_defaults(func=_submit)
    for name, help_text, func in (("cancel", "cancel a job (a running one stops between frames)", _cancel),
                                  ("resume", "queue a failed, resumable job again", _resume)):
        p = client(name, help_text)
        p.add_argument("job", metavar="JOB", help="the job id (job_...)")
        p.set_defaults(func=func)


def _serve(args: argparse.Namespace) -> int:
    from faceright.service.settings import service_settings

    from faceright.cli.main import Terminated

    from ..service.serve import build_service

    settings = service_settings(args.config)
    service = build_service(args.config, settings, listen=args.listen)

    def ready(svc: Any) -> None:
        devices = ", ".join(str(d) for d in settings.devices)
        print(f"faceright engine service on {svc.url} (devices: {devices}; jobs: {svc.store.where}); "
              f"clients: [service] url = \"{svc.url}\"; Ctrl-C stops", flush=True)

    try:
        service.run(on_ready=ready)
    except (KeyboardInterrupt, Terminated):   # uvicorn stops gracefully, then passes the signal on
        pass
    print("faceright engine service stopped", file=sys.stderr)
    return 0


def _engine(args: argparse.Namespace) -> Any:
    from faceright.service.client import RemoteEngine

    return RemoteEngine(args.config, url=args.url)


def _status(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        health = engine.health()
    if args.json:
        print(json.dumps(health, indent=2))
        return 0
    print(f"{engine.url}: {health.get('status')} (faceright {health.get('version', '?')})")
    rows = [["device", "ready", "queued", "running"]]
    rows += [[str(d["device"]), "yes" if d["engine"] else ("loading" if not d["ready"] else "NO"), str(d["queued"]),
              d["running"] or "-"] for d in health.get("devices", ())]
    if len(rows) > 1:
        print(format_table(rows))
    return 0


def _jobs(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        views = engine.jobs(state=args.state, limit=args.limit)
    if args.json:
        print(json.dumps([v.to_json() for v in views], indent=2, ensure_ascii=False))
        return 0
    rows = [["job", "shot", "state", "progress", "submitted", "note"]]
    for v in views:
        total = f"/{v.progress.total}" if v.progress.total else ""
        note = v.error.code if v.error else ""
        if v.resumable:
            note += " (resumable)"
        rows.append([v.id, v.shot_id, v.state, f"{v.progress.done}{total}", v.submitted_at or "", note])
    print(format_table(rows) if views else "no jobs")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from faceright.errors import ServiceError, SwapRefusedError
    from faceright.progress import TerminalProgress
    from faceright.shot import FaceShot

    shot = FaceShot.load(args.shot)
    with _engine(args) as engine:
        view = engine.submit(shot)
        if args.no_wait:
            print(json.dumps(view.to_json()) if args.json else view.id)
            return 0
        print(f"{view.id} queued on device {view.device}", file=sys.stderr)
        with TerminalProgress(shot.shot_id, disable=args.no_progress) as bar:
            view = engine.follow(view.id, progress=bar)
        if args.json:
            print(json.dumps(view.to_json(), indent=2, ensure_ascii=False))
        try:
            outcome = engine.result(view.id)
        except SwapRefusedError as exc:
            from faceright.cli.swap import print_refusal

            print(f"faceright: shot {shot.shot_id!r} refused by the service, nothing was written:", file=sys.stderr)
            print_refusal(exc, file=sys.stderr)
            return 1
        except ServiceError as exc:
            if not view.finished:
                raise
            print(f"faceright: {exc}", file=sys.stderr)
            return 1
    if not args.json:
        print(f"{view.id} done: {outcome.faces_swapped} face(s) in {outcome.frames_swapped}/{outcome.frames} frames "
              f"-> {', '.join(o.path for o in outcome.shot.results.outputs)}")
    return 0


def _cancel(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        view = engine.cancel(args.job)
    print(json.dumps(view.to_json()) if args.json else f"{view.id}: {view.state}")
    return 0


def _resume(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        view = engine.resume(args.job)
    print(json.dumps(view.to_json()) if args.json else f"{view.id}: {view.state}")
    return 0
