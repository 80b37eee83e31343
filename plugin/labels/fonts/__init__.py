"""The label font shipped with faceright: an OFL subset of Noto Sans CJK SC Bold (see OFL.txt).

It covers printable ASCII and the characters of the usual AIGC wordings (AI生成, 人工智能生成合成
内容 ...); custom wording with other characters needs a configured font (``[labels] font``).
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

DEFAULT_FONT_NAME = "FaceRightLabelSansSC-Bold.otf"


def default_font_path() -> Path:
    """Path of the shipped subset font."""
    return Path(str(resources.files(__package__).joinpath(DEFAULT_FONT_NAME)))
