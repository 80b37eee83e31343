"""faceright: licensed face replacement, gated by likeness licenses and AIGC labels."""

__version__ = "0.1.0"
