"""The engine service across kills, stops, cancels and a full queue; its job store on SQLite and PostgreSQL.

Against a real `faceright engine serve` process: a service killed outright (SIGKILL) while a job
runs leaves nothing under the output's name and its plate untouched, and the restarted service
(same FACERIGHT_HOME, same listen address: the same instance in the store) reports the job
``failed``, ``resumable``, ``job.interrupted`` — never done — while jobs that were only queued
run by themselves; resuming the interrupted one finishes it with a proven label, a ledger record
and no partial file left behind. SIGTERM stops the service gracefully within seconds (exit 0)
with the running job interrupted and resumable. A cancelled job stops between frames and leaves
nothing; a queued one never runs. A full queue answers 429 ``service.busy`` with Retry-After at
once. The job store itself (no process) is tested on both backends it supports.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import requests

from faceright.engine.service.store import INTERRUPTED, JobStore, database_url, now_text
from faceright.errors import ServiceError
from faceright.ledger import open_ledger
from faceright.service.client import RemoteEngine
from faceright.service.protocol import STATES, JobError, JobView, new_job_id
from faceright.shot import FaceShot
from postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)

from service_support import ServiceProcess, faceright_command, free_port, make_studio

#: frames of the long plate: about 5 s of swapping on a 2-core CPU (~120 fps measured), so a job is
#: reliably caught mid-way, yet a resumed one finishes quickly
LONG = 600
LONG_PLATE = "show:long.mp4"


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    return make_studio(tmp_path_factory.mktemp("restart"), long_plate=LONG)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder_for(studio, name: str) -> Path:
    """An output folder of this test's own under show:out/ (so its listing is this test's files only)."""
    folder = studio.root / "out" / name
    folder.mkdir()
    return folder


def listing(folder: Path) -> list[str]:
    """Every entry of ``folder``, dotfiles (partials) included."""
    return sorted(os.listdir(folder))


def shot(studio, shot_id: str, output: str, *, long: bool = True) -> FaceShot:
    return FaceShot.from_json(studio.shot(shot_id, output, plate=LONG_PLATE if long else "show:small.mp4"))


def wait_for(client: RemoteEngine, job_id: str, check, *, timeout: float, step: float = 0.03) -> JobView:
    deadline = time.monotonic() + timeout
    while True:
        view = client.job(job_id)
        if check(view):
            return view
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} did not get there in {timeout} s: {view.to_json()}")
        time.sleep(step)


def mid_job(view: JobView) -> bool:
    assert view.state in ("queued", "running"), view.to_json()
    return view.state == "running" and view.progress.done >= 5


def assert_interrupted(view: JobView) -> None:
    assert view.state == "failed" and view.resumable, view.to_json()
    assert view.error is not None and view.error.code == "job.interrupted"
    assert view.outcome is None and view.ledger is None


def assert_done_and_recorded(studio, view: JobView, output: Path, *, frames: int = LONG) -> None:
    assert view.state == "done", view.to_json()
    assert view.error is None and not view.resumable
    assert output.is_file() and output.stat().st_size > 0
    assert view.outcome["label"]["proven"] is True
    assert view.outcome["frames"] == frames and view.progress.done == frames
    assert isinstance(view.ledger["sequence"], int) and view.ledger["sequence"] >= 1
    assert len(view.ledger["hash"]) == 64
    with open_ledger(studio.config()) as ledger:
        records = [r for r in ledger.records() if r.entry.get("job") == view.id]
    assert len(records) == 1 and records[0].sequence == view.ledger["sequence"]
    assert records[0].hash == view.ledger["hash"]


# -- SIGKILL ----------------------------------------------------------------------------------------


def test_a_job_killed_mid_way_is_reported_interrupted_after_a_restart_and_resumes_to_done(studio):
    folder = folder_for(studio, "kill")
    output = folder / "killed.mp4"
    plate = studio.root / "long.mp4"
    plate_hash = sha256(plate)
    svc = ServiceProcess(studio).start()
    try:
        with RemoteEngine(studio.config(), url=svc.url) as client:
            job = client.submit(shot(studio, "kill010", "show:out/kill/killed.mp4"))
            caught = wait_for(client, job.id, mid_job, timeout=30)
            assert caught.progress.total == LONG and caught.progress.done < LONG   # mid-way, not near its end
            svc.kill()
    finally:
        if svc.process.poll() is None:
            svc.kill()
    assert svc.process.returncode == -9
    assert not output.exists(), "a killed job left a file under its output's final name"
    assert all(name.startswith(".") and ".partial." in name for name in listing(folder)), listing(folder)
    assert sha256(plate) == plate_hash

    # restarted on another port: the instance is its home's, not its address's, so it recovers its jobs
    with ServiceProcess(studio) as again, RemoteEngine(studio.config(), url=again.url) as client:
        assert again.listen != svc.listen
        view = client.job(job.id)
        assert_interrupted(view)
        assert view.attempts == 1 and view.finished_at is not None
        listed = requests.get(f"{again.url}/v1/jobs", timeout=5).json()["jobs"]
        mine = [j for j in listed if j["id"] == job.id]
        assert len(mine) == 1 and mine[0]["state"] == "failed" and mine[0]["resumable"] is True
        assert mine[0]["error"]["code"] == "job.interrupted"
        assert [j.id for j in client.jobs(state="failed")].count(job.id) == 1
        assert job.id not in [j.id for j in client.jobs(state="done")]

        resumed = client.resume(job.id)
        assert resumed.state in ("queued", "running") and resumed.error is None and not resumed.resumable
        done = client.follow(job.id, timeout_s=60)
        assert done.attempts == 2
        assert_done_and_recorded(studio, done, output)
        assert listing(folder) == ["killed.mp4"], "a partial file was left in the output folder"
        assert client.result(job.id).label.proven
    assert sha256(plate) == plate_hash


def test_a_second_service_with_the_same_home_is_refused(studio):
    with ServiceProcess(studio):
        second = subprocess.run([*faceright_command(), "engine", "serve", "--listen", f"127.0.0.1:{free_port()}"],
                                env={**os.environ, "FACERIGHT_HOME": str(studio.home)}, capture_output=True,
                                text=True, timeout=60)
    assert second.returncode == 2
    assert "another faceright engine service runs with this FACERIGHT_HOME" in second.stderr
    assert "Traceback" not in second.stderr


def test_after_a_kill_queued_jobs_run_by_themselves_and_the_running_one_is_interrupted(studio):
    folder = folder_for(studio, "queue")
    svc = ServiceProcess(studio).start()
    try:
        with RemoteEngine(studio.config(), url=svc.url) as client:
            first = client.submit(shot(studio, "q010", "show:out/queue/first.mp4"))
            wait_for(client, first.id, lambda v: v.state == "running", timeout=30, step=0.01)
            queued = [client.submit(shot(studio, f"q0{n}0", f"show:out/queue/q{n}.mp4", long=False))
                      for n in (2, 3, 4)]
            svc.kill()      # at once: the first job has only just started, the others are queued
    finally:
        if svc.process.poll() is None:
            svc.kill()
    assert [v.state for v in queued] == ["queued"] * 3
    assert not (folder / "first.mp4").exists()

    with ServiceProcess(studio, listen=svc.listen) as again, RemoteEngine(studio.config(), url=again.url) as client:
        assert_interrupted(client.job(first.id))
        views = [client.follow(v.id, timeout_s=60) for v in queued]
        for n, view in zip((2, 3, 4), views):
            assert view.state == "done" and view.attempts == 1, view.to_json()
            assert_done_and_recorded(studio, view, folder / f"q{n}.mp4", frames=6)
        started = [v.started_at for v in views]
        assert started == sorted(started), "queued jobs did not run in the order they were submitted"
        # the interrupted job stays interrupted: a restart never runs it by itself, never reports it done
        assert_interrupted(client.job(first.id))
        assert not (folder / "first.mp4").exists()


# -- SIGTERM ----------------------------------------------------------------------------------------


def test_sigterm_stops_the_service_within_seconds_and_the_running_job_resumes(studio):
    folder = folder_for(studio, "term")
    output = folder / "term.mp4"
    svc = ServiceProcess(studio).start()
    try:
        with RemoteEngine(studio.config(), url=svc.url) as client:
            job = client.submit(shot(studio, "term010", "show:out/term/term.mp4"))
            wait_for(client, job.id, mid_job, timeout=30)
            started = time.monotonic()
            code = svc.stop()
            took = time.monotonic() - started
    finally:
        if svc.process.poll() is None:
            svc.kill()
    assert code == 0, svc.output()
    assert took < 5, f"the service took {took:.1f} s to stop"
    assert not output.exists()
    assert listing(folder) == [], "a graceful stop left a partial file behind"
    # the stopping service itself wrote the job as interrupted (no restart has recovered anything yet)
    store = JobStore(database_url(None, studio.home), owner="a reader")
    try:
        view = store.get(job.id)
    finally:
        store.close()
    assert_interrupted(view)
    assert 5 <= view.progress.done < LONG

    with ServiceProcess(studio, listen=svc.listen) as again, RemoteEngine(studio.config(), url=again.url) as client:
        assert_interrupted(client.job(job.id))
        client.resume(job.id)
        done = client.follow(job.id, timeout_s=60)
        assert done.attempts == 2
        assert_done_and_recorded(studio, done, output)
        assert listing(folder) == ["term.mp4"]


# -- cancel ---------------------------------------------------------------------------------------


def test_cancel_stops_a_running_job_between_frames_and_a_queued_one_never_runs(studio):
    folder = folder_for(studio, "cancel")
    with ServiceProcess(studio) as svc, RemoteEngine(studio.config(), url=svc.url) as client:
        running = client.submit(shot(studio, "c010", "show:out/cancel/running.mp4"))
        waiting = client.submit(shot(studio, "c020", "show:out/cancel/waiting.mp4"))
        wait_for(client, running.id, mid_job, timeout=30)

        view = client.cancel(waiting.id)          # queued: cancelled at once, in the answer itself
        assert view.state == "cancelled" and view.error.code == "job.cancelled"
        assert view.attempts == 0 and view.started_at is None and not view.resumable

        asked = time.monotonic()
        client.cancel(running.id)
        view = wait_for(client, running.id, lambda v: v.finished, timeout=10, step=0.02)
        took = time.monotonic() - asked
        assert took < 2, f"cancelling a running job took {took:.1f} s"
        assert view.state == "cancelled" and view.error.code == "job.cancelled", view.to_json()
        assert not view.resumable and view.outcome is None and view.ledger is None
        assert 5 <= view.progress.done < LONG
        assert listing(folder) == [], "a cancelled job left a file behind"

        time.sleep(0.5)      # the device is free now: the cancelled queued job must not start on it
        assert client.health()["devices"][0]["running"] is None
        view = client.job(waiting.id)
        assert view.state == "cancelled" and view.attempts == 0 and view.started_at is None
        assert listing(folder) == []

        small = client.submit(shot(studio, "c030", "show:out/cancel/small.mp4", long=False))
        done = client.follow(small.id, timeout_s=60)
        assert done.state == "done"
        again = client.cancel(small.id)       # cancelling a finished job changes nothing
        assert again.to_json() == done.to_json()
        assert client.job(small.id).to_json() == done.to_json()
        assert listing(folder) == ["small.mp4"]

        for job_id, state in ((small.id, "done"), (running.id, "cancelled"), (waiting.id, "cancelled")):
            with pytest.raises(ServiceError) as caught:
                client.resume(job_id)
            assert caught.value.code == "job.not_resumable" and caught.value.status == 409
            assert client.job(job_id).state == state
        answer = requests.post(f"{svc.url}/v1/jobs/{small.id}/resume", timeout=5)
        assert answer.status_code == 409 and answer.json()["error"]["code"] == "job.not_resumable"


# -- a full queue ---------------------------------------------------------------------------------


def test_a_full_queue_answers_429_with_retry_after_at_once(tmp_path):
    busy = make_studio(tmp_path, long_plate=LONG, service={"max_queued": 2})
    with ServiceProcess(busy) as svc, RemoteEngine(busy.config(), url=svc.url) as client:
        first = client.submit(shot(busy, "b010", "show:out/b1.mp4"))
        wait_for(client, first.id, lambda v: v.state == "running", timeout=30, step=0.01)
        waiting = [client.submit(shot(busy, f"b0{n}0", f"show:out/b{n}.mp4")) for n in (2, 3)]
        assert [v.state for v in waiting] == ["queued", "queued"]

        doc = busy.shot("b040", "show:out/b4.mp4", plate=LONG_PLATE)
        started = time.monotonic()
        answer = requests.post(f"{svc.url}/v1/jobs", data=json.dumps(doc), timeout=5,
                               headers={"Content-Type": "application/json"})
        took = time.monotonic() - started
        assert answer.status_code == 429, answer.text
        assert took < 1, f"a refused submission took {took:.2f} s"
        retry = answer.headers.get("Retry-After")
        assert retry is not None and retry.isdigit() and int(retry) >= 1, retry
        assert answer.json()["error"]["code"] == "service.busy"

        started = time.monotonic()
        with pytest.raises(ServiceError) as caught:
            client.submit(FaceShot.from_json(doc))
        assert time.monotonic() - started < 1
        assert caught.value.code == "service.busy" and caught.value.status == 429
        assert caught.value.retry_after is not None and caught.value.retry_after >= 1
        # nothing was queued by the refusals
        assert len(client.jobs()) == 3 and client.health()["devices"][0]["queued"] == 2

        for view in [*waiting, first]:
            client.cancel(view.id)
        wait_for(client, first.id, lambda v: v.finished, timeout=10)
        assert {client.job(v.id).state for v in [first, *waiting]} == {"cancelled"}


# -- the job store, no process --------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    home = tmp_path / "home"
    if request.param == "sqlite":
        return database_url(None, home)          # FACERIGHT_HOME/service/jobs.sqlite
    url = database_url(request.getfixturevalue("postgres_url"), home)
    assert url.startswith("postgresql+psycopg://")
    return url


def queued_view(shot_id: str) -> JobView:
    return JobView(id=new_job_id(), state="queued", shot_id=shot_id, device=0, submitted_at=now_text())


def test_the_store_keeps_jobs_across_instances(store_url):
    store = JobStore(store_url, owner="gpu01/127.0.0.1:8765")
    views = [queued_view(f"sh0{n}0") for n in range(1, 4)]
    for n, view in enumerate(views):
        store.add(view, json.dumps({"shot_id": view.shot_id}), f"artist{n}")
    store.update(views[0].id, state="running", started_at=now_text(), attempts=1, done=7, total=96, fps=12.5)
    store.update(views[1].id, state="done", finished_at=now_text(), outcome={"frames": 96, "label": {"proven": True}},
                 ledger={"sequence": 3, "hash": "ab" * 32})
    store.update(views[2].id, state="failed", resumable=True, error=JobError("ledger.unreachable", "later"))
    with pytest.raises(ValueError):
        store.update(views[2].id, state="finished")
    store.close()

    store = JobStore(store_url, owner="gpu01/127.0.0.1:8765")      # as after a restart
    try:
        first = store.get(views[0].id)
        assert first.state == "running" and first.attempts == 1 and first.shot_id == "sh010"
        assert (first.progress.done, first.progress.total, first.progress.fps) == (7, 96, 12.5)
        second = store.get(views[1].id)
        assert second.outcome == {"frames": 96, "label": {"proven": True}}
        assert second.ledger == {"sequence": 3, "hash": "ab" * 32} and second.error is None
        third = store.get(views[2].id)
        assert third.resumable and third.error == JobError("ledger.unreachable", "later")
        assert store.get(new_job_id()) is None
        assert store.shot_of(views[1].id) == (json.dumps({"shot_id": "sh020"}), "artist1")
        assert store.shot_of(new_job_id()) is None

        later = queued_view("sh040")
        store.add(later, "{}", "artist3")
        assert [v.id for v in store.list()] == [later.id, *reversed([v.id for v in views])]   # newest first
        assert [v.id for v in store.list(limit=2)] == [later.id, views[2].id]
        assert [v.id for v in store.list(state="queued")] == [later.id]
        assert [v.id for v in store.list(state="cancelled")] == []
        assert store.counts() == {"queued": 1, "running": 1, "done": 1, "failed": 1, "cancelled": 0}
        assert set(store.counts()) == set(STATES)
    finally:
        store.close()


def test_recover_interrupts_only_this_instances_running_jobs_and_requeues_its_queued_ones(store_url):
    mine = JobStore(store_url, owner="gpu01/127.0.0.1:8765")
    other = JobStore(store_url, owner="gpu02/127.0.0.1:8765")
    try:
        a, b, c, d, e = (queued_view(f"sh{n}") for n in range(5))
        for view in (a, b, c, d, e):
            mine.add(view, "{}", "artist")
        mine.update(b.id, state="running", started_at=now_text(), attempts=1, done=40, total=96)
        mine.update(d.id, state="done", finished_at=now_text(), outcome={"frames": 96}, ledger={"sequence": 1})
        mine.update(e.id, state="cancelled", finished_at=now_text(), error=JobError("job.cancelled", "by hand"))
        theirs_running, theirs_queued = queued_view("sh_x"), queued_view("sh_y")
        other.add(theirs_running, "{}", "artist")
        other.add(theirs_queued, "{}", "artist")
        other.update(theirs_running.id, state="running", started_at=now_text(), attempts=1)
        done_before = mine.get(d.id)

        interrupted, queued = mine.recover()
        assert interrupted == [b.id]
        assert queued == [a.id, c.id]                      # in their order, and only this instance's
        view = mine.get(b.id)
        assert view.state == "failed" and view.resumable and view.finished_at is not None
        assert view.error.code == INTERRUPTED == "job.interrupted"
        assert view.outcome is None and view.progress.done == 40      # never reported done
        assert mine.get(d.id) == done_before
        assert mine.get(e.id).state == "cancelled" and not mine.get(e.id).resumable
        assert [mine.get(j.id).state for j in (a, c)] == ["queued", "queued"]
        # another machine's jobs in the same database are not touched
        assert mine.get(theirs_running.id).state == "running" and not mine.get(theirs_running.id).resumable
        assert mine.get(theirs_queued.id).state == "queued"
        assert mine.recover() == ([], [a.id, c.id])         # a second recovery changes nothing

        assert other.recover() == ([theirs_running.id], [theirs_queued.id])
        assert other.get(theirs_running.id).error.code == "job.interrupted"
        assert mine.get(b.id).state == "failed"
    finally:
        mine.close()
        other.close()
