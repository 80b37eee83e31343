"""`faceright engine serve`: the engine as a service every host shares.

    store.py     jobs in SQLite or PostgreSQL (SQLAlchemy Core); a restart reports every job it had
    dispatch.py  one queue and one warm engine per device; limits, 429, cancel between frames
    runner.py    one job: media checked, license and release verified with the service's keyring,
                 swapped, labelled, proven, written to the ledger
    guard.py     media only as root:relative names inside the roots, after symlinks are resolved
    app.py       the HTTP API (FastAPI), progress as Server-Sent Events, token, size limits
    metrics.py   /metrics in Prometheus text
    serve.py     bind, refuse a network address without a token, run uvicorn

Its clients are the core's (:mod:`faceright.service.client`).
"""
