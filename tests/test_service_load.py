"""50 clients at once against one service: every job done or refused with 429, none lost or doubled.

Bounded in count (50 submissions, one each) and time (each wait has a timeout); loopback only.
"""
from __future__ import annotations

import threading

import pytest

from faceright.errors import ServiceError
from faceright.service.client import RemoteEngine
from faceright.shot import FaceShot

from service_support import ServiceProcess, make_studio, pictures_md5

CLIENTS = 50
MAX_QUEUED = 12


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    return make_studio(tmp_path_factory.mktemp("load"), service={"max_queued": MAX_QUEUED})


def test_fifty_clients_submitting_at_once(studio):
    from faceright.engine.jobs.local import LocalEngine

    config = studio.config()
    with LocalEngine(config) as engine:   # the reference: the same FaceShot in-process
        engine.swap(FaceShot.from_json(studio.shot("ref", "show:out/reference.mp4")))
    reference = pictures_md5(studio.root / "out" / "reference.mp4")

    barrier = threading.Barrier(CLIENTS)
    results: dict[int, tuple[str, object]] = {}

    def client(n: int) -> None:
        with RemoteEngine(config, url=service.url) as remote:
            shot = FaceShot.from_json(studio.shot(f"sh{n:03d}", f"show:out/load_{n:03d}.mp4"))
            barrier.wait(30)
            try:
                view = remote.submit(shot)
            except ServiceError as exc:
                results[n] = ("refused", exc)
                return
            results[n] = ("done", remote.follow(view.id, timeout_s=240))

    with ServiceProcess(studio) as service:
        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        assert not any(t.is_alive() for t in threads)
        with RemoteEngine(config, url=service.url) as remote:
            listed = remote.jobs(limit=1000)
        assert "Traceback" not in service.output()

    assert len(results) == CLIENTS
    refused = [exc for kind, exc in results.values() if kind == "refused"]
    finished = [view for kind, view in results.values() if kind == "done"]
    assert all(exc.code == "service.busy" and exc.status == 429 and exc.retry_after >= 1 for exc in refused)
    assert len(finished) >= MAX_QUEUED and refused, (len(finished), len(refused))
    assert all(view.state == "done" for view in finished), [(v.id, v.state, v.error) for v in finished]
    ids = [view.id for view in finished]
    assert len(set(ids)) == len(ids)
    # the service holds exactly the accepted jobs: none lost, none doubled, none for a refused submission
    assert sorted(v.id for v in listed) == sorted(ids)
    assert sorted(v.shot_id for v in listed) == sorted(v.shot_id for v in finished)
    # every output is the same video as the in-process run of the same FaceShot
    for view in finished:
        output = studio.root / "out" / f"load_{view.shot_id[2:]}.mp4"
        assert pictures_md5(output) == reference, view.shot_id
    # a refused submission left nothing behind
    for n, (kind, _) in results.items():
        if kind == "refused":
            assert not (studio.root / "out" / f"load_{n:03d}.mp4").exists()
