"""The farm's cost on this machine: one shot as an OpenJD bundle run locally versus one process (not a test).

    python benchmarks/farm.py [--frames 96] [--size 1280x720] [--chunk-sizes 8,24,48,96] [--runs 1] [--json OUT]

Builds the demo studio under a ``show`` path root (tests/service_support.make_studio: the embedded
example's keys, signed license and release, a ``--frames`` demo plate ``show:long.mp4`` of
``--size``) and one FaceShot over the whole plate (classic backend). Not timed: building the
studio and writing the bundles (``faceright farm bundle --chunk-size N --target-runtime 0``:
TargetRuntime 0 keeps the chunk size fixed). Then, one after the other so that nothing else
competes for the 2 CPUs, every run with a fresh job folder (``BUNDLE/job`` deleted) and its
output deleted:

1. The wall time of one ``faceright swap --shot SHOT.json`` process (one untimed warm-up first)
   versus ``faceright farm run BUNDLE --workers 1`` of the same shot in 4 chunks (chunk size
   frames/4): the overhead in s and %. It is broken down with the timestamps openjd prints on
   every line: before the session (the ``faceright farm run`` and ``openjd run`` processes
   starting), each task (Gate, every chunk, Assemble) from ``Command started`` to ``Process
   exited`` (and, inside it, to the task's ``faceright farm:`` line), openjd's own gaps
   between tasks, and after the session. One more run of the same bundle goes through a wrapper
   that runs ``faceright -v`` (INFO log lines, which openjd timestamps too), to split each task
   into process start and imports (to its first log line), model load (to the last ``session
   for`` line), the license check with the swap's set-up (the rest), the swap itself (frames /
   fps of the engine's own ``swapped ... (fps)`` line: decode, detect, swap, paste-back,
   PNG frames written and the label proven on them) and the chunk's frames moved, hashed and
   recorded; the single process is split the same way (its lines timestamped here).
2. The speed-up of ``--workers 2`` on the same 4-chunk bundle (``openjd run --step`` sessions
   side by side: Gate, then the chunks two at a time, then Assemble).
3. What chunk size amortises a chunk's start-up: ``--chunk-sizes`` (1 worker), wall and s/frame
   for each; a least-squares fit wall = a + b * chunks, where the slope b is the fixed cost of one
   more chunk and the intercept a the rest of the job. A chunk that does not start on a key
   frame (every ``keyframe_interval`` frames, 12 by default) decodes and swaps the frames from
   the key frame before it, then throws them away: those lead-in frames are counted, and the
   fit is repeated with their cost (at the swap's own s/frame) taken off.

Prints a table; --json writes the report too.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from service_support import Studio, make_studio  # noqa: E402

_LINE = re.compile(r"^(\d+):(\d\d):(\d\d(?:\.\d*)?)\t(.*)$")
_SWAPPED = re.compile(r"faceright\.engine\.jobs\.swap: swapped \d+ face\(s\) in \d+ of (?P<frames>\d+) frames .*"
                      r"\((?P<fps>[\d.]+) fps\)")
_PARAM = re.compile(r"Frames\(CHUNK\[INT\]\) = (?P<frames>\S+)")
_STEP = re.compile(r"Running step '(?P<step>.+)'")
_STARTED = re.compile(r"Command started as pid: (?P<pid>\d+)")
_EXITED = re.compile(r"Process pid (?P<pid>\d+) exited with code: (?P<code>-?\d+)")
_SESSION = re.compile(r"Session start (?P<iso>\S+)")
_DURATION = re.compile(r"^Duration: (?P<s>[\d.]+) seconds")
_FARM_DONE = re.compile(r"done \((?P<swapped>\d+) frame\(s\) swapped")


def parse_size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    return int(w), int(h)


def env_of(studio: Studio) -> dict[str, str]:
    env = {**os.environ, "FACERIGHT_HOME": str(studio.home)}
    env.pop("FACERIGHT_SERVICE_URL", None)     # the local engine, in every process
    return env


class Bench:
    def __init__(self, studio: Studio, work: Path, frames: int, program: str, verbose_program: str) -> None:
        self.studio, self.work, self.frames = studio, work, frames
        self.program, self.verbose_program = program, verbose_program
        self.env = env_of(studio)
        self.output = studio.root / "out" / "x.mp4"
        self.shot_file = work / "shot.json"
        doc = studio.shot("sh010", "show:out/x.mp4", plate="show:long.mp4", frames=(0, frames))
        self.shot_file.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        self.bundles: dict[int, Path] = {}

    def fresh(self, bundle: Path | None = None) -> None:
        self.output.unlink(missing_ok=True)
        if bundle is not None:
            shutil.rmtree(bundle / "job", ignore_errors=True)

    def bundle(self, chunk: int) -> Path:
        if chunk not in self.bundles:
            folder = self.work / f"bundle-c{chunk}"
            done = subprocess.run([self.program, "farm", "bundle", str(self.shot_file), "--out", str(folder),
                                   "--chunk-size", str(chunk), "--target-runtime", "0"],
                                  env=self.env, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"farm bundle exited {done.returncode}: {done.stdout}{done.stderr}")
            self.bundles[chunk] = folder
        return self.bundles[chunk]

    # -- one process ----------------------------------------------------------------------------------

    def single(self, *, verbose: bool = False) -> dict[str, Any]:
        """One ``faceright swap --shot`` process: wall s (and with ``verbose``, its log lines' times)."""
        self.fresh()
        command = [self.program, *(["-v"] if verbose else []), "swap", "--shot", str(self.shot_file), "--no-progress"]
        lines: list[tuple[float, str]] = []
        started = time.perf_counter()
        process = subprocess.Popen(command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out: list[str] = []
        reader = threading.Thread(target=lambda: out.append(process.stdout.read()))   # type: ignore[union-attr]
        reader.start()
        for line in process.stderr:                                                    # type: ignore[union-attr]
            lines.append((time.perf_counter() - started, line.rstrip("\n")))
        code = process.wait()
        wall = time.perf_counter() - started
        reader.join()
        if code != 0 or not self.output.is_file():
            raise RuntimeError(f"faceright swap exited {code}: {''.join(out)}" + "\n".join(t for _, t in lines))
        result: dict[str, Any] = {"wall_s": round(wall, 3)}
        if verbose:
            result["phases"] = phases_of(0.0, lines, wall, kind="single")
        return result

    # -- a bundle -------------------------------------------------------------------------------------

    def farm(self, chunk: int, *, workers: int = 1, verbose: bool = False) -> dict[str, Any]:
        bundle = self.bundle(chunk)
        self.fresh(bundle)
        command = [self.program, "farm", "run", str(bundle.resolve()), "--workers", str(workers),
                   "--program", self.verbose_program if verbose else self.program, "--no-progress"]
        launched = time.time()
        started = time.perf_counter()
        done = subprocess.run(command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wall = time.perf_counter() - started
        text = done.stdout
        if done.returncode != 0 or not self.output.is_file():
            raise RuntimeError(f"farm run (chunk {chunk}, {workers} worker(s)) exited {done.returncode}:\n"
                               + "\n".join(text.splitlines()[-40:]))
        swapped = _FARM_DONE.search(text)
        result: dict[str, Any] = {"chunk_size": chunk, "workers": workers, "wall_s": round(wall, 3),
                                  "chunks": math.ceil(self.frames / chunk),
                                  "frames_swapped": int(swapped["swapped"]) if swapped else None}
        if workers == 1:
            result["session"] = parse_session(text, launched, wall)
        else:
            result["openjd_sessions"] = sum(1 for line in text.splitlines() if _SESSION.search(line))
        return result


def parse_session(text: str, launched: float, wall: float) -> dict[str, Any]:
    """The tasks of one ``openjd run`` session's log: when each ran, in s from the session's start."""
    tasks: list[dict[str, Any]] = []
    step, frames, current = None, None, None
    session_start, duration = None, None
    for raw in text.splitlines():
        tail = _DURATION.match(raw)
        if tail:
            duration = float(tail["s"])
        match = _LINE.match(raw)
        if not match:
            continue
        t = int(match[1]) * 3600 + int(match[2]) * 60 + float(match[3])
        message = match[4]
        if (m := _SESSION.search(message)) and session_start is None:
            session_start = datetime.fromisoformat(m["iso"]).timestamp()
        elif m := _STEP.search(message):
            step, frames = m["step"], None
        elif m := _PARAM.search(message):
            frames = m["frames"]
        elif m := _STARTED.search(message):
            current = {"step": step, "frames": frames, "start": t, "lines": []}
        elif (m := _EXITED.search(message)) and current is not None:
            current["exit"], current["code"] = t, int(m["code"])
            tasks.append(current)
            current = None
        elif current is not None and message.strip():
            current["lines"].append((t, message))
    if duration is None:
        duration = tasks[-1]["exit"] if tasks else 0.0
    before = (session_start - launched) if session_start is not None else None
    out: list[dict[str, Any]] = []
    previous_end = 0.0
    for task in tasks:
        result_t = next((t for t, m in task["lines"] if m.startswith("faceright farm:")), None)
        row = {"step": task["step"], "frames": task["frames"], "start_s": round(task["start"], 3),
               "gap_before_s": round(task["start"] - previous_end, 3),
               "process_s": round(task["exit"] - task["start"], 3),
               "to_result_line_s": round(result_t - task["start"], 3) if result_t is not None else None,
               "teardown_s": round(task["exit"] - result_t, 3) if result_t is not None else None,
               "code": task["code"]}
        if any(m.startswith("INFO ") for _, m in task["lines"]):
            row["phases"] = phases_of(task["start"], task["lines"], task["exit"],
                                      kind="gate" if task["step"] == "Gate" else
                                      "chunk" if task["frames"] else "assemble")
        out.append(row)
        previous_end = task["exit"]
    return {"before_session_s": round(before, 3) if before is not None else None,
            "session_s": round(duration, 3),
            "after_session_s": round(wall - before - duration, 3) if before is not None else None,
            "tasks": out, "gaps_s": round(sum(r["gap_before_s"] for r in out) + (duration - previous_end), 3)}


def phases_of(start: float, lines: list[tuple[float, str]], end: float, *, kind: str) -> dict[str, Any]:
    """A process's phases from its INFO lines' times (``start``/``end``: its start and exit)."""
    logs = [(t, m) for t, m in lines if m.startswith(("INFO ", "WARNING ", "ERROR "))]
    result_t = next((t for t, m in lines if m.startswith("faceright farm:")), None)
    swapped = next(((t, m) for t, m in logs if _SWAPPED.search(m)), None)
    before_swap = [t for t, m in logs if "faceright.engine.runtime: session for" in m
                   and (swapped is None or t <= swapped[0])]
    phases: dict[str, Any] = {}
    first = logs[0][0] if logs else None
    if first is None:
        return {"total_s": round(end - start, 3)}
    phases["start_imports_s"] = first - start
    if before_swap and kind != "assemble":
        phases["model_load_s"] = before_swap[-1] - first
        loaded = before_swap[-1]
    else:
        loaded = first
    if kind in ("chunk", "single") and swapped is not None:
        m = _SWAPPED.search(swapped[1])
        render = int(m["frames"]) / float(m["fps"])
        phases["check_setup_s"] = swapped[0] - loaded - render
        phases["swap_s"] = render
        phases["frames_rendered"] = int(m["frames"])
        if kind == "chunk" and result_t is not None:
            phases["move_hash_record_s"] = result_t - swapped[0]
            phases["teardown_s"] = end - result_t
        else:
            phases["write_results_exit_s"] = end - swapped[0]
    elif kind == "gate" and result_t is not None:
        phases["license_check_s"] = result_t - loaded
        phases["teardown_s"] = end - result_t
    elif kind == "assemble" and result_t is not None:
        # no log line between the imports and the ledger's: encode + label proof + results + ledger
        ledger = next((t for t, m in logs if "faceright.ledger" in m), result_t)
        phases["start_imports_s"] = None          # unknown: its first line is the ledger's
        phases["to_ledger_line_s"] = ledger - start
        phases["teardown_s"] = end - result_t
    phases["total_s"] = end - start
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in phases.items()}


def lead_in(frames: int, chunk: int, keyframe_interval: int) -> int:
    """Frames decoded and swapped before their chunk's first frame, then thrown away (whole job)."""
    return sum(first - first // keyframe_interval * keyframe_interval for first in range(0, frames, chunk))


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares y = a + b * x."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    return my - b * mx, b


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--frames", type=int, default=96, help="plate length (default 96)")
    parser.add_argument("--size", type=parse_size, default=(1280, 720), metavar="WxH",
                        help="plate size (default 1280x720)")
    parser.add_argument("--chunk-sizes", default=None,
                        help="chunk sizes of the sweep, comma separated (default 8,frames/4,frames/2,frames)")
    parser.add_argument("--runs", type=int, default=1, help="timed runs per configuration, median (default 1)")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    from faceright.engine.settings import engine_settings

    frames = args.frames
    quarter = math.ceil(frames / 4)
    sizes = ([int(s) for s in args.chunk_sizes.split(",")] if args.chunk_sizes
             else [8, quarter, math.ceil(frames / 2), frames])
    sizes = sorted({min(max(1, s), 150, frames) for s in sizes})
    program = str(Path(sys.executable).with_name("faceright"))
    report: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "plate": f"{frames} frames, {args.size[0]}x{args.size[1]}", "backend": "classic", "runs": args.runs}
    started_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="faceright-bench-farm-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        studio = make_studio(work / "studio", long_plate=frames, size=args.size)
        keyframe_interval = engine_settings(studio.config()).keyframe_interval
        wrapper = work / "faceright-v"
        wrapper.write_text(f"#!/bin/sh\nexec {json.dumps(program)} -v \"$@\"\n", encoding="utf-8")
        wrapper.chmod(0o755)
        bench = Bench(studio, work, frames, program, str(wrapper))
        for size in {quarter, *sizes}:
            bench.bundle(size)
        report["setup_s"] = round(time.perf_counter() - t0, 1)
        report["keyframe_interval"] = keyframe_interval

        def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
            best = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]
            return best | {"walls_s": [r["wall_s"] for r in runs]}

        # -- 1. one process vs the bundle in 4 chunks, 1 worker ----------------------------------------
        bench.single()                                     # warm-up: page cache, .pyc, onnxruntime
        single = median_of([bench.single() for _ in range(args.runs)])
        farm4 = median_of([bench.farm(quarter) for _ in range(args.runs)])
        single_v = bench.single(verbose=True)
        farm4_v = bench.farm(quarter, verbose=True)
        report["single"] = single | {"verbose": single_v}
        report["farm_4"] = farm4 | {"verbose": farm4_v}
        report["overhead_s"] = round(farm4["wall_s"] - single["wall_s"], 3)
        report["overhead_pct"] = round(100 * (farm4["wall_s"] - single["wall_s"]) / single["wall_s"], 1)

        # -- 2. two workers ---------------------------------------------------------------------------
        farm4_w2 = median_of([bench.farm(quarter, workers=2) for _ in range(args.runs)])
        report["farm_4_workers2"] = farm4_w2
        report["speedup_workers2"] = round(farm4["wall_s"] / farm4_w2["wall_s"], 3)

        # -- 3. chunk sizes ---------------------------------------------------------------------------
        sweep = []
        for size in sorted(sizes, reverse=True):
            run = farm4 if size == quarter else median_of([bench.farm(size) for _ in range(args.runs)])
            sweep.append({"chunk_size": size, "chunks": run["chunks"], "wall_s": run["wall_s"],
                          "walls_s": run["walls_s"], "s_per_frame": round(run["wall_s"] / frames, 4),
                          "lead_in_frames": lead_in(frames, size, keyframe_interval)})
        sweep.sort(key=lambda r: r["chunk_size"])
        report["sweep"] = sweep
        if len({r["chunks"] for r in sweep}) >= 2:
            a, b = fit([(r["chunks"], r["wall_s"]) for r in sweep])
            report["fit"] = {"a_intercept_s": round(a, 3), "b_per_chunk_s": round(b, 3)}
            swaps = [t["phases"] for t in farm4_v["session"]["tasks"] if "phases" in t and "swap_s" in t["phases"]]
            if swaps:
                per_frame = sum(p["swap_s"] for p in swaps) / sum(p["frames_rendered"] for p in swaps)
                a2, b2 = fit([(r["chunks"], r["wall_s"] - r["lead_in_frames"] * per_frame) for r in sweep])
                report["fit_lead_in_removed"] = {"swap_s_per_frame": round(per_frame, 4),
                                                 "a_intercept_s": round(a2, 3), "b_per_chunk_s": round(b2, 3)}
    report["benchmark_wall_s"] = round(time.perf_counter() - started_all, 1)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


def _f(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_report(r: dict[str, Any]) -> None:
    single, farm4, w2 = r["single"], r["farm_4"], r["farm_4_workers2"]
    s = farm4["session"]
    print(f"faceright farm run (openjd-cli, local) — {r['machine']}; plate {r['plate']}, backend {r['backend']}; "
          f"key frames every {r['keyframe_interval']}")
    print(f"setup (studio, bundles; not timed) {r['setup_s']:.0f} s; benchmark wall {r['benchmark_wall_s']:.0f} s; "
          f"{r['runs']} timed run(s) per configuration\n")
    print("1. one process vs the bundle in 4 chunks, 1 worker")
    print(f"  faceright swap --shot (one process)         {single['wall_s']:8.2f} s   runs {single['walls_s']}")
    print(f"  faceright farm run, {farm4['chunks']} chunks of {farm4['chunk_size']}, 1 worker "
          f"{farm4['wall_s']:8.2f} s   runs {farm4['walls_s']}")
    print(f"  overhead                                    {r['overhead_s']:+8.2f} s   {r['overhead_pct']:+.1f} %\n")
    print("  where the farm run's time goes (openjd's timestamps):")
    print(f"    before the session (farm run + openjd start)   {_f(s['before_session_s']):>7} s")
    for t in s["tasks"]:
        name = t["step"] + (f" [{t['frames']}]" if t["frames"] else "")
        print(f"    {name:<28} gap {t['gap_before_s']:5.2f}  process {t['process_s']:6.2f} s"
              f"  (to its result line {_f(t['to_result_line_s'])}, exit {_f(t['teardown_s'])})")
    chunk_rows = [t for t in s["tasks"] if t["frames"]]
    print(f"    openjd between tasks (sum of gaps)             {s['gaps_s']:7.2f} s")
    print(f"    after the session (cleanup, exits)             {_f(s['after_session_s']):>7} s")
    print(f"    session {s['session_s']:.2f} s = gate {sum(t['process_s'] for t in s['tasks'] if t['step'] == 'Gate'):.2f}"
          f" + chunks {sum(t['process_s'] for t in chunk_rows):.2f}"
          f" + assemble {sum(t['process_s'] for t in s['tasks'] if t['step'].startswith('Assemble')):.2f}"
          f" + gaps {s['gaps_s']:.2f} s\n")

    sv, fv = single["verbose"], farm4["verbose"]
    print(f"  inside each process (an instrumented run, `faceright -v`: farm run {fv['wall_s']:.2f} s, "
          f"one process {sv['wall_s']:.2f} s):")
    header = ("process", "start+imports", "model load", "check+setup", "swap", "frames", "after swap", "total")
    print("    {:<30}{:>14}{:>11}{:>12}{:>8}{:>7}{:>11}{:>8}".format(*header))

    def row(name: str, p: dict[str, Any]) -> None:
        check = p.get("check_setup_s", p.get("license_check_s"))
        after = p.get("move_hash_record_s")
        if after is not None:
            after += p.get("teardown_s", 0.0)
        else:
            after = p.get("write_results_exit_s", p.get("teardown_s"))
        print("    {:<30}{:>14}{:>11}{:>12}{:>8}{:>7}{:>11}{:>8}".format(
            name, _f(p.get("start_imports_s")), _f(p.get("model_load_s")), _f(check), _f(p.get("swap_s")),
            p.get("frames_rendered", "-"), _f(after), _f(p.get("total_s"))))

    row("faceright swap (one process)", sv["phases"])
    for t in fv["session"]["tasks"]:
        p = t.get("phases", {"total_s": t["process_s"]})
        name = t["step"] + (f" [{t['frames']}]" if t["frames"] else "")
        if t["step"].startswith("Assemble"):
            print(f"    {name:<30} to its ledger line {_f(p.get('to_ledger_line_s'))} s (imports + decode PNGs + "
                  f"encode + label proof + ledger), exit {_f(p.get('teardown_s'))}, total {_f(p.get('total_s'))}")
        else:
            row(name, p)
    print("    (gate: check = the license/release/model check; chunk: check+setup = check, donor, selection, "
          "first frame; after swap = move, hash, manifest, exit)\n")

    print("2. two workers, same 4-chunk bundle")
    print(f"  --workers 1 {farm4['wall_s']:.2f} s, --workers 2 {w2['wall_s']:.2f} s (runs {w2['walls_s']}, "
          f"{w2.get('openjd_sessions')} openjd sessions): speed-up x{r['speedup_workers2']:.2f}\n")

    print("3. chunk size, 1 worker")
    print("    {:>6}{:>8}{:>10}{:>10}{:>10}".format("chunk", "chunks", "wall s", "s/frame", "lead-in"))
    for x in r["sweep"]:
        print(f"    {x['chunk_size']:>6}{x['chunks']:>8}{x['wall_s']:>10.2f}{x['s_per_frame']:>10.4f}"
              f"{x['lead_in_frames']:>10}")
    if "fit" in r:
        f = r["fit"]
        print(f"  fit wall = a + b*chunks: a = {f['a_intercept_s']:.2f} s (the job without chunk start-ups), "
              f"b = {f['b_per_chunk_s']:.2f} s per chunk (fixed cost of one more chunk)")
    if "fit_lead_in_removed" in r:
        f = r["fit_lead_in_removed"]
        print(f"  lead-in frames' cost ({f['swap_s_per_frame']:.3f} s/frame) taken off: a = {f['a_intercept_s']:.2f} s, "
              f"b = {f['b_per_chunk_s']:.2f} s per chunk")


if __name__ == "__main__":
    raise SystemExit(main())
