"""Jobs: the one place above both the engine proper and the core's labels and licenses.

``swap`` (a FaceShot, verified, swapped, labelled, proven), ``label`` (label an existing file)
and ``local`` (the in-process :class:`~faceright.engine_client.EngineClient` that runs them).
The engine proper (media, models, runtime, backends, pipeline) never imports from here.
"""
