"""Path roots: one media name for every platform, and nothing that leaves its root."""
from __future__ import annotations

import os

import pytest

from faceright.errors import ConfigError, PathRootError
from faceright.paths import PathRoots, split_ref

pytestmark = pytest.mark.hostside


@pytest.fixture
def show(tmp_path):
    root = tmp_path / "show"
    (root / "plates").mkdir(parents=True)
    (root / "plates" / "a.mov").write_bytes(b"plate")
    table = {"show": {"linux": str(root), "windows": "S:/show", "darwin": "/Volumes/show"}}
    return root, table


def test_a_root_name_resolves_per_platform(show):
    root, table = show
    assert PathRoots.from_table(table, platform="linux").resolve("show:plates/a.mov") == root / "plates" / "a.mov"
    assert PathRoots.from_table(table, platform="linux").resolve("show:plates\\a.mov") == root / "plates" / "a.mov"
    assert str(PathRoots.from_table(table, platform="darwin").resolve("show:plates/a.mov")).endswith(
        "show/plates/a.mov")


def test_plain_paths_stay_as_they_are(show):
    roots = PathRoots.from_table(show[1], platform="linux")
    for plain in ("plate.mov", "/tmp/plate.mov", "C:\\plates\\a.mov", "file:///tmp/a.mov"):
        assert split_ref(plain) is None
        assert os.fspath(roots.resolve(plain)) == plain or plain.startswith("file:")


@pytest.mark.parametrize("name,why", [
    ("show:../secret.txt", "'..'"),
    ("show:plates/../../secret.txt", "'..'"),
    ("show:/etc/passwd", "relative"),
    ("show:C:/Windows/win.ini", "relative"),
    ("show:", "no file"),
    ("shot:plates/a.mov", "does not define"),
])
def test_names_that_would_leave_their_root_are_refused(show, name, why):
    roots = PathRoots.from_table(show[1], platform="linux")
    with pytest.raises(PathRootError, match=why):
        roots.resolve(name)


def test_a_symlink_out_of_the_root_is_refused_and_one_inside_is_followed(show, tmp_path):
    root, table = show
    (tmp_path / "outside.txt").write_text("secret")
    (root / "plates" / "escape.mov").symlink_to(tmp_path / "outside.txt")
    (root / "plates" / "alias.mov").symlink_to(root / "plates" / "a.mov")
    roots = PathRoots.from_table(table, platform="linux")
    with pytest.raises(PathRootError, match="symbolic link"):
        roots.resolve("show:plates/escape.mov")
    assert roots.resolve("show:plates/alias.mov").read_bytes() == b"plate"


def test_a_root_without_this_platforms_prefix_says_what_to_set():
    roots = PathRoots.from_table({"show": {"windows": "S:/show"}}, platform="linux")
    with pytest.raises(PathRootError, match='linux = "..."'):
        roots.resolve("show:a.mov")


@pytest.mark.parametrize("table,why", [
    ({"C": {"linux": "/mnt"}}, "two characters"),
    ({"show": "/mnt/show"}, "must be a table"),
    ({"show": {"linux": "/mnt", "amiga": "DH0:"}}, "unknown platform"),
    ({"show": {"linux": 3}}, "folder path string"),
])
def test_a_bad_paths_table_is_refused(table, why):
    with pytest.raises(ConfigError, match=why):
        PathRoots.from_table(table)


def test_bare_windows_paths_from_resolve_become_root_names(show):
    roots = PathRoots.from_table(show[1], platform="linux")
    ref = roots.to_ref("S:\\show\\plates\\a.mov")     # as Resolve's OTIO export writes target_url
    assert ref == "show:plates/a.mov"
    assert roots.resolve(ref) == show[0] / "plates" / "a.mov"
    assert roots.to_ref("s:/SHOW/plates/a.mov") == "show:plates/a.mov"   # Windows paths ignore case
    assert roots.to_ref(str(show[0] / "plates" / "a.mov")) == "show:plates/a.mov"
    assert roots.to_ref("/elsewhere/a.mov") == "/elsewhere/a.mov"
