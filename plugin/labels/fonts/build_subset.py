"""Rebuild the shipped label font (a developer tool, not used at run time).

    apt-get download fonts-noto-cjk && dpkg-deb -x fonts-noto-cjk_*.deb noto
    python plugin/labels/fonts/build_subset.py noto/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc

Takes Noto Sans CJK SC Bold (face 2 of the collection, SIL OFL 1.1), keeps printable ASCII and
the characters of the usual AIGC label wordings, and renames the family: a subset is a
Modified Version under the OFL, and "Noto" is a trademark, so the subset carries its own name.
"""
from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

#: every character of the wordings the shipped font must cover, beyond printable ASCII
LABEL_CHARS = "人工智能生成合成内容由本视频画面含有使用技术制作深度已经过处理标识" "，。：（）、·【】「」！"
FAMILY = "FaceRight Label Sans SC"
OUT = Path(__file__).with_name("FaceRightLabelSansSC-Bold.otf")


def main(collection: str, face: int = 2) -> None:
    font = TTCollection(collection).fonts[face]
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    text = "".join(chr(c) for c in range(0x20, 0x7F)) + LABEL_CHARS
    subsetter.populate(text=text)
    subsetter.subset(font)
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 16):
            names.setName(FAMILY, record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 4:
            names.setName(f"{FAMILY} Bold", 4, record.platformID, record.platEncID, record.langID)
        elif record.nameID in (3, 6):
            names.setName("FaceRightLabelSansSC-Bold", record.nameID, record.platformID, record.platEncID, record.langID)
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = ["FaceRightLabelSansSC-Bold"]
        top = cff.topDictIndex[0]
        top.FullName = f"{FAMILY} Bold"
        top.FamilyName = FAMILY
    font.save(OUT)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
