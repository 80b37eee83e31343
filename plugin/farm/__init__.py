"""Face shots on a render farm: Open Job Description bundles (what AWS Deadline Cloud runs).

:mod:`.bundle` writes a bundle (a host can submit without the engine), :mod:`.pathmap` reads
OpenJD path-mapping rules, :mod:`.run` runs a bundle locally with ``openjd run``. What the
workers run is the engine's (:mod:`faceright.engine.farm`).
"""
