"""The engine service as its clients see it: settings, the wire format, the ``requests`` client.

The service itself (`faceright engine serve`) is the engine's (:mod:`faceright.engine.service`);
nothing here imports it, onnxruntime or a web framework.
"""
