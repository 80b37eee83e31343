"""The engine service's cost on this machine: request rates, one job's overhead, a warm first frame (not a test).

    python benchmarks/service.py [--frames 96] [--requests 500] [--threads 8] [--runs 5] [--json OUT]

Builds the demo studio under a ``show`` path root (tests/service_support.make_studio: the embedded
example's keys, signed license and release, a ``--frames`` 1280x720 demo plate, a ``[service]``
table) and runs the real ``faceright engine serve`` on a free loopback port. Not timed: building
the studio. Then, one after the other so that nothing else competes for the CPUs:

1. One job through the service versus in-process, on the same FaceShot (the whole plate, classic
   backend): ``LocalEngine(config).swap(shot)`` in this process with its models loaded and one
   warm-up swap first, and ``RemoteEngine.swap(shot)`` against the service after one warm-up job;
   ``--runs`` of each, alternating, median wall time of each side and the overhead in %.
   The service's side includes what only the service does: the HTTP round trips, the job store's
   commits, the progress stream and the ledger record the service writes for every job.
2. A warm service's first frame: from calling ``RemoteEngine.swap`` (so the submit is included)
   to the first progress callback with ``done >= 1`` (read off the runs of 1; the progress
   stream is polled every 0.1 s by the service, so this is rounded up to that). Next to it: the
   wall time of a cold ``faceright swap --shot`` process on the same shot cut to one frame
   (plate frames {first: 0, last: 0}): interpreter start, imports, models loaded, license and
   release verified, one frame written, labelled and proven (page cache warm). And the same
   1-frame shot through the warm service, submit to done.
3. Requests per second of ``POST /v1/jobs`` and of ``GET /v1/jobs/{id}`` with a requests.Session,
   from one client thread and from ``--threads`` threads (a Session each). The submitted shots
   fail fast on purpose: their output exists and ``overwrite`` is false, so the service accepts
   them (its media checks pass) and its worker fails each at once (``output.exists``, before any
   model runs) — the worker's store writes for those jobs run while the submits are measured. The
   service's ``max_queued`` is large so that none is refused with 429; the queue is left to drain
   before the GETs, which all read one finished (done) job. The clients run on the same 2 cores
   as the service.

Then prints the service's peak RSS (VmHWM from /proc) and a table; --json writes it too.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from service_support import ServiceProcess, Studio, faceright_command, make_studio  # noqa: E402

from faceright.progress import Progress  # noqa: E402
from faceright.service.client import RemoteEngine, rooted  # noqa: E402
from faceright.service.protocol import API_PREFIX, USER_HEADER  # noqa: E402
from faceright.shot import FaceShot  # noqa: E402


def shot_doc(studio: Studio, shot_id: str, output: str, *, first_frame_only: bool = False,
             overwrite: bool = True) -> dict[str, Any]:
    doc = studio.shot(shot_id, output, overwrite=overwrite)
    if first_frame_only:
        doc["plate"]["frames"] = {"first": 0, "last": 0}   # FaceShot.1 writes both ends included
    return doc


def timed_remote_swap(remote: RemoteEngine, shot: FaceShot) -> tuple[float, float | None, Any]:
    """``(wall s, s to the first progress with done >= 1, outcome)`` of one RemoteEngine.swap."""
    first: list[float] = []
    started = time.perf_counter()

    def progress(report: Progress) -> None:
        if report.done >= 1 and not first:
            first.append(time.perf_counter() - started)

    outcome = remote.swap(shot, progress=progress)
    return time.perf_counter() - started, (first[0] if first else None), outcome


def rate(n: int, threads: int, make_session: Callable[[], requests.Session],
         call: Callable[[requests.Session], requests.Response], expect: int) -> dict[str, Any]:
    """``n`` calls spread over ``threads`` threads (a Session each): requests/s and latency."""
    shares = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    wrong: list[int] = []
    sessions = [make_session() for _ in range(threads)]
    for s in sessions:                         # connections open before the clock starts
        s.get(f"{base_url}/health", timeout=10)
    barrier = threading.Barrier(threads + 1)

    def work(i: int) -> None:
        session, mine = sessions[i], latencies[i]
        barrier.wait()
        for _ in range(shares[i]):
            t0 = time.perf_counter()
            response = call(session)
            mine.append(time.perf_counter() - t0)
            if response.status_code != expect:
                wrong.append(response.status_code)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    barrier.wait()
    started = time.perf_counter()
    for w in workers:
        w.join()
    wall = time.perf_counter() - started
    for s in sessions:
        s.close()
    every = sorted(x for mine in latencies for x in mine)
    return {"requests": n, "threads": threads, "seconds": round(wall, 3), "rps": round(n / wall, 1),
            "p50_ms": round(1000 * every[len(every) // 2], 2),
            "p99_ms": round(1000 * every[min(len(every) - 1, int(len(every) * 0.99))], 2),
            "unexpected_status": sorted(set(wrong)), "unexpected_count": len(wrong)}


base_url = ""


def wait_idle(url: str, timeout: float = 300.0) -> float:
    """Seconds until the service has nothing queued and nothing running."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        devices = requests.get(f"{url}/health", timeout=10).json()["devices"]
        if all(d["queued"] == 0 and d["running"] is None for d in devices):
            return time.perf_counter() - started
        time.sleep(0.05)
    raise RuntimeError(f"the service was still busy after {timeout} s")


def proc_status(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS of ``pid`` in MiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            found[key] = round(int(value.split()[0]) / 1024)
    return found


def main() -> int:
    global base_url
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--frames", type=int, default=96, help="plate length, 1280x720 (default 96)")
    parser.add_argument("--requests", type=int, default=500, help="requests per rate measurement (default 500)")
    parser.add_argument("--threads", type=int, default=8, help="client threads of the concurrent rates (default 8)")
    parser.add_argument("--runs", type=int, default=5, help="timed jobs per side, alternating (default 5)")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    from faceright.engine.jobs.local import LocalEngine

    report: dict[str, Any] = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
                              "plate": f"{args.frames} frames, 1280x720", "backend": "classic"}
    started_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="faceright-bench-service-") as tmp:
        studio = make_studio(Path(tmp), plate_frames=args.frames, size=(1280, 720),
                             service={"max_queued": 1_000_000})
        (studio.root / "out" / "exists.mp4").write_bytes(b"an output that is already there")
        config = studio.config()
        service = ServiceProcess(studio)
        t0 = time.perf_counter()
        service.start(timeout=120)
        report["service_start_to_ready_s"] = round(time.perf_counter() - t0, 2)
        base_url = service.url
        pid = service.process.pid
        try:
            remote = RemoteEngine(config, url=service.url)
            local = LocalEngine(config)
            full = lambda name: FaceShot.from_json(shot_doc(studio, name, f"show:out/{name}.mp4"))  # noqa: E731

            # -- 1. one job: in-process vs through the service ------------------------------------
            local.runtime.analyser()
            local.runtime.swapper("classic")
            local.swap(full("warm-local"))
            remote.swap(full("warm-remote"))
            local_s, remote_s, first_s, engine_local_s, engine_remote_s = [], [], [], [], []
            frames = None
            for i in range(args.runs):
                t = time.perf_counter()
                outcome = local.swap(full("local"))
                local_s.append(time.perf_counter() - t)
                engine_local_s.append(outcome.seconds)
                wall, first, outcome = timed_remote_swap(remote, full("remote"))
                remote_s.append(wall)
                engine_remote_s.append(outcome.seconds)
                if first is not None:
                    first_s.append(first)
                frames = outcome.frames
                assert outcome.label.proven
            med_local, med_remote = statistics.median(local_s), statistics.median(remote_s)
            report["job"] = {
                "frames": frames, "runs": args.runs,
                "in_process_s": [round(x, 3) for x in local_s], "service_s": [round(x, 3) for x in remote_s],
                "in_process_median_s": round(med_local, 3), "service_median_s": round(med_remote, 3),
                "overhead_s": round(med_remote - med_local, 3),
                "overhead_pct": round(100 * (med_remote - med_local) / med_local, 2),
                "engine_render_median_s": {"in_process": round(statistics.median(engine_local_s), 3),
                                           "service": round(statistics.median(engine_remote_s), 3)},
            }

            # -- 2. first frame: warm service vs a cold CLI process ---------------------------------
            one_doc = shot_doc(studio, "one", "show:out/one-cli.mp4", first_frame_only=True)
            shot_file = Path(tmp) / "one.json"
            shot_file.write_text(json.dumps(one_doc), encoding="utf-8")
            env = {**service.env}
            cold_s = []
            for _ in range(args.runs):
                t = time.perf_counter()
                done = subprocess.run([*faceright_command(), "swap", "--shot", str(shot_file), "--no-progress"],
                                      env=env, capture_output=True, text=True)
                cold_s.append(time.perf_counter() - t)
                if done.returncode != 0:
                    raise RuntimeError(f"faceright swap exited {done.returncode}: {done.stdout}{done.stderr}")
            one_remote_s = []
            for _ in range(args.runs):
                wall, _first, outcome = timed_remote_swap(
                    remote, FaceShot.from_json(shot_doc(studio, "one", "show:out/one-remote.mp4",
                                                        first_frame_only=True)))
                assert outcome.frames == 1 and outcome.label.proven
                one_remote_s.append(wall)
            report["first_frame"] = {
                "service_submit_to_first_progress_s": [round(x, 3) for x in first_s],
                "service_submit_to_first_progress_median_s": round(statistics.median(first_s), 3) if first_s else None,
                "service_1frame_submit_to_done_s": [round(x, 3) for x in one_remote_s],
                "service_1frame_submit_to_done_median_s": round(statistics.median(one_remote_s), 3),
                "cold_cli_1frame_wall_s": [round(x, 3) for x in cold_s],
                "cold_cli_1frame_wall_median_s": round(statistics.median(cold_s), 3),
            }

            # -- 3. request rates, engine idle ---------------------------------------------------------
            wait_idle(service.url)
            done_job = remote.jobs(state="done", limit=1)[0].id
            failing = rooted(FaceShot.from_json(shot_doc(studio, "fails-fast", "show:out/exists.mp4",
                                                         overwrite=False)), config.paths)
            body = json.dumps(failing.to_json(), ensure_ascii=False).encode("utf-8")
            headers = {"Content-Type": "application/json", USER_HEADER: "bench"}

            def make_session() -> requests.Session:
                s = requests.Session()
                s.headers[USER_HEADER] = "bench"
                return s

            def submit(s: requests.Session) -> requests.Response:
                return s.post(f"{service.url}{API_PREFIX}/jobs", data=body, headers=headers, timeout=30)

            def status(s: requests.Session) -> requests.Response:
                return s.get(f"{service.url}{API_PREFIX}/jobs/{done_job}", timeout=30)

            rates: dict[str, Any] = {}
            for threads in (1, args.threads):
                rates[f"submit_{threads}t"] = rate(args.requests, threads, make_session, submit, 202)
                rates[f"submit_{threads}t"]["drain_after_s"] = round(wait_idle(service.url), 2)
            last = remote.jobs(limit=1)[0]
            rates["submitted_jobs_end_as"] = f"{last.state} ({last.error.code if last.error else '-'})"
            for threads in (1, args.threads):
                rates[f"status_{threads}t"] = rate(args.requests, threads, make_session, status, 200)
            report["rates"] = rates
            report["service_memory_mib"] = proc_status(pid)
            remote.close()
            local.close()
        finally:
            service.stop()
    report["benchmark_wall_s"] = round(time.perf_counter() - started_all, 1)
    print_report(report, args)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


def print_report(r: dict[str, Any], args: argparse.Namespace) -> None:
    job, ff, rates, mem = r["job"], r["first_frame"], r["rates"], r["service_memory_mib"]
    print(f"faceright engine service on loopback — {r['machine']}; plate {r['plate']}, backend {r['backend']}")
    print(f"service start to ready (models loaded): {r['service_start_to_ready_s']:.2f} s; "
          f"benchmark wall {r['benchmark_wall_s']:.0f} s\n")
    rows = [
        ("one job, whole plate", "", ""),
        (f"  in-process LocalEngine.swap (warm), median of {job['runs']}", f"{job['in_process_median_s']:.3f} s",
         " ".join(f"{x:.2f}" for x in job["in_process_s"])),
        (f"  service RemoteEngine.swap (warm), median of {job['runs']}", f"{job['service_median_s']:.3f} s",
         " ".join(f"{x:.2f}" for x in job["service_s"])),
        ("  service overhead (goal < 5 %)", f"{job['overhead_pct']:+.2f} %", f"{job['overhead_s']:+.3f} s"),
        ("  engine's own render time, in-process / service", f"{job['engine_render_median_s']['in_process']:.3f} s",
         f"{job['engine_render_median_s']['service']:.3f} s"),
        ("first frame", "", ""),
        ("  warm service: swap() called → first progress done>=1",
         f"{ff['service_submit_to_first_progress_median_s']:.3f} s",
         " ".join(f"{x:.2f}" for x in ff["service_submit_to_first_progress_s"])),
        ("  warm service: 1-frame shot, swap() called → done",
         f"{ff['service_1frame_submit_to_done_median_s']:.3f} s",
         " ".join(f"{x:.2f}" for x in ff["service_1frame_submit_to_done_s"])),
        ("  cold `faceright swap --shot` 1-frame process wall",
         f"{ff['cold_cli_1frame_wall_median_s']:.3f} s", " ".join(f"{x:.2f}" for x in ff["cold_cli_1frame_wall_s"])),
        (f"requests ({args.requests} each, engine idle)", "", ""),
    ]
    for kind, what in (("submit", "POST /v1/jobs (fail-fast shot)"), ("status", "GET /v1/jobs/{id} (a done job)")):
        for threads in (1, args.threads):
            m = rates[f"{kind}_{threads}t"]
            extra = f"p50 {m['p50_ms']:.1f} ms, p99 {m['p99_ms']:.1f} ms"
            if m["unexpected_count"]:
                extra += f", {m['unexpected_count']} answered {m['unexpected_status']}"
            if "drain_after_s" in m:
                extra += f", queue drained {m['drain_after_s']:.1f} s later"
            rows.append((f"  {what}, {threads} thread{'s' if threads > 1 else ''}", f"{m['rps']:.0f} req/s", extra))
    rows.append(("  the submitted jobs ended as", rates["submitted_jobs_end_as"], ""))
    rows.append(("service process memory", f"peak {mem.get('VmHWM')} MiB", f"now {mem.get('VmRSS')} MiB (VmRSS)"))
    width = max(len(row[0]) for row in rows)
    for name, value, extra in rows:
        print(f"{name.ljust(width)}  {value:>12}  {extra}".rstrip())


if __name__ == "__main__":
    raise SystemExit(main())
