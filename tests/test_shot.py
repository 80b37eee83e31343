"""FaceShot: lossless JSON, strict parsing that names the bad member, an upgrade hook."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from faceright import shot as shot_mod
from faceright.errors import ShotError
from faceright.frames import FrameRange
from faceright.paths import PathRoots
from faceright.shot import (SCHEMA, DocumentRef, Donor, Embedding, FaceShot, FileHash, ModelUse, Output, Plate,
                            PlateFace, Results, SwapSettings, Verdict)
from faceright.usage import MEDIA, TIERS, USES, Usage

pytestmark = pytest.mark.hostside

text = st.text(min_size=1, max_size=20)
maybe = st.none().__or__
frames = st.builds(lambda first, n: FrameRange.from_count(n, first), st.integers(-5000, 10**6), st.integers(1, 10**4))
rates = st.builds(Fraction, st.integers(1, 240000), st.integers(1, 1001))
zones = st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-14 * 60, 14 * 60))
whens = st.one_of(st.dates(), st.builds(lambda d, z: d.replace(tzinfo=z), st.datetimes(), zones))
embeddings = st.builds(lambda v, m: Embedding.of(np.array(v, dtype=np.float32), m),
                       st.lists(st.floats(-1, 1, width=32), min_size=1, max_size=16), text)
usages = st.builds(
    Usage, production=text, platform=text, territory=text, when=whens, medium=st.sampled_from(MEDIA),
    use=st.sampled_from(USES), language=maybe(text), episode=maybe(st.integers(1, 10**4)),
    character=maybe(text), content_tags=st.lists(text, max_size=3).map(tuple),
    tier=maybe(st.sampled_from(TIERS)), budget_cny=maybe(st.integers(0, 10**9)), licensee_code=maybe(text))
refs = st.one_of(st.builds(DocumentRef, path=text, id=maybe(text)), st.builds(DocumentRef, path=st.none(), id=text))
plate_faces = st.one_of(
    st.builds(PlateFace, rule=st.sampled_from(["largest", "all"]), threshold=st.floats(0, 1)),
    st.builds(PlateFace, rule=st.just("reference"), image=text, embedding=maybe(embeddings), threshold=st.floats(0, 1)),
    st.builds(PlateFace, rule=st.just("reference"), image=st.none(), embedding=embeddings),
)
results = st.builds(
    Results, outputs=st.lists(st.builds(FileHash, text, text), max_size=3).map(tuple),
    produce_id=maybe(text), license_id=maybe(text), release_id=maybe(text),
    verdicts=st.lists(st.builds(Verdict, text, st.sampled_from(["error", "warning", "info"]), text),
                      max_size=3).map(tuple),
    models=st.lists(st.builds(ModelUse, text, text, maybe(text)), max_size=3).map(tuple),
    frames=maybe(frames), label_proven=maybe(st.booleans()))
shots = st.builds(
    FaceShot, shot_id=st.text(min_size=1).filter(str.strip),
    plate=st.builds(Plate, path=text, frames=maybe(frames), rate=maybe(rates), colour_space=maybe(text)),
    donor=st.builds(Donor, image=text, largest=st.booleans()), license=refs, release=refs, usage=usages,
    output=st.builds(Output, path=text, deliverable=st.booleans(), overwrite=st.booleans()),
    plate_face=plate_faces,
    swap=st.builds(SwapSettings, backend=text, detector=maybe(text), recogniser=maybe(text), preset=maybe(text),
                   crf=maybe(st.integers(0, 51))),
    results=maybe(results))


@settings(max_examples=300, deadline=None)
@given(shots)
def test_a_faceshot_round_trips_through_json_text_losslessly(shot):
    text_form = shot.dumps()
    back = FaceShot.loads(text_form)
    assert back == shot
    assert back.dumps() == text_form
    assert json.loads(text_form)["schema"] == SCHEMA


def sample() -> dict:
    return FaceShot(
        shot_id="ep01_sh010", plate=Plate("show:plates/ep01_sh010.####.exr", FrameRange.parse("1001-1048"),
                                          Fraction(24000, 1001), "ACEScg"),
        donor=Donor("show:donors/lead.jpg"), license=DocumentRef("show:licenses/lead.json"),
        release=DocumentRef(id="urn:uuid:5b1f"), usage=Usage("PRJ-0001", "douyin", "CN", date(2026, 5, 1)),
        output=Output("show:renders/ep01_sh010.mov", deliverable=True),
        plate_face=PlateFace("reference", image="show:plates/performer.jpg"),
    ).to_json()


def test_the_json_form_is_plain_and_readable():
    data = sample()
    assert data["plate"]["frames"] == {"first": 1001, "last": 1048}
    assert data["plate"]["rate"] == "24000/1001"
    assert data["usage"]["when"] == "2026-05-01"
    assert FaceShot.from_json(data).plate.frames == FrameRange(1001, 1049)


def change(data: dict, path: str, value) -> dict:
    *parents, last = path.split(".")
    node = data
    for name in parents:
        node = node[name]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return data


@pytest.mark.parametrize("path,value,message", [
    ("plate.frame", {"first": 1, "last": 2}, r"plate\.frame: is not a member of Plate \(did you mean 'frames'\?\)"),
    ("colour", "x", r"^colour: is not a member of FaceShot"),
    ("plate.frames.first", "1001", r"plate\.frames\.first: must be a whole number, not a string"),
    ("plate.frames.last", 1000.0, r"plate\.frames\.last: must be a whole number, not a number"),
    ("plate.frames", {"first": 1048, "last": 1001}, r"plate\.frames: the last frame 1048|plate\.frames: the last"),
    ("swap.crf", True, r"swap\.crf: must be a whole number, not true/false"),
    ("output.deliverable", 1, r"output\.deliverable: must be true or false"),
    ("plate_face.threshold", float("nan"), r"plate_face\.threshold: must be a finite number"),
    ("plate_face.threshold", 1.5, r"plate_face.*threshold must lie in \[0, 1\]"),
    ("plate_face.rule", "biggest", r"plate_face\.rule: must be one of 'reference', 'largest', 'all'"),
    ("usage.tier", "vip", r"usage\.tier: must be one of"),
    ("usage.when", "2026-05-01T09:00:00", r"usage\.when: the date-time .* needs its UTC offset"),
    ("usage.when", "yesterday", r"usage\.when: 'yesterday' is not an ISO date"),
    ("usage.content_tags", "gambling", r"usage\.content_tags: must be a list"),
    ("plate.rate", "0", r"plate\.rate: must be above zero"),
    ("plate.rate", 23.976, r"plate\.rate: must be a rate such as"),
    ("donor", KeyError, r"^donor: is required"),
    ("release", {}, r"release: a license or release reference needs its file path or its id"),
    ("shot_id", 7, r"shot_id: must be a string"),
])
def test_bad_faceshot_json_gets_a_message_naming_the_member(path, value, message):
    with pytest.raises(ShotError, match=message):
        FaceShot.from_json(change(sample(), path, value))


def test_nan_and_duplicate_members_in_the_text_are_refused():
    text_form = json.dumps(sample()).replace('"threshold": 0.35', '"threshold": NaN')
    with pytest.raises(ShotError, match="NaN"):
        FaceShot.loads(text_form)
    doubled = json.dumps(sample())[:-1] + ', "shot_id": "other"}'
    with pytest.raises(ShotError, match="appears twice"):
        FaceShot.loads(doubled)


def test_a_faceshot_file_that_is_not_json_names_the_file(tmp_path):
    path = tmp_path / "shot.json"
    path.write_text('{"schema": "FaceShot.1", ')
    with pytest.raises(ShotError, match=f"{path}.*not valid JSON"):
        FaceShot.load(path)


def test_an_unknown_or_missing_schema_is_refused():
    data = sample()
    data["schema"] = "FaceShot.9"
    with pytest.raises(ShotError, match="'FaceShot.9' is not a FaceShot schema .*known: FaceShot.1"):
        FaceShot.from_json(data)
    del data["schema"]
    with pytest.raises(ShotError, match="schema: is required"):
        FaceShot.from_json(data)


def test_an_older_schema_is_upgraded_by_its_hook(monkeypatch):
    old = sample()
    old["schema"] = "FaceShot.0"
    old["plate"]["fps"] = old["plate"].pop("rate")   # say version 0 called it fps

    def from_0(data):
        plate = dict(data["plate"])
        plate["rate"] = plate.pop("fps")
        return {**data, "plate": plate, "schema": "FaceShot.1"}

    monkeypatch.setitem(shot_mod.UPGRADES, "FaceShot.0", from_0)
    assert FaceShot.from_json(old) == FaceShot.from_json(sample())


def test_embedding_vectors_are_checked_and_read_back():
    vector = np.linspace(-1, 1, 128, dtype=np.float32)
    emb = Embedding.of(vector, "sface@2021dec")
    assert np.array_equal(emb.values, vector)
    with pytest.raises(ShotError, match="not base64"):
        Embedding("m", "not base64!")
    with pytest.raises(ShotError, match="whole number of float32"):
        Embedding("m", "AAA=")


def test_media_resolve_through_the_path_roots(tmp_path):
    (tmp_path / "plates").mkdir()
    shot = FaceShot.from_json(sample())
    media = shot.media(PathRoots.from_table({"show": {"linux": str(tmp_path)}}, platform="linux"))
    assert media.plate == tmp_path / "plates" / "ep01_sh010.####.exr"
    assert media.license == tmp_path / "licenses" / "lead.json"
    assert media.release is None          # given by id only
    with pytest.raises(ShotError.__mro__[1]):   # a FaceRightError: the root is not configured
        shot.media(PathRoots())


def test_a_datetime_publish_moment_keeps_its_offset():
    data = change(sample(), "usage.when", "2026-05-01T09:00:00+08:00")
    when = FaceShot.from_json(data).usage.when
    assert isinstance(when, datetime) and when.utcoffset() == timedelta(hours=8)
    assert FaceShot.from_json(change(sample(), "usage.when", "2026-05-01T01:00:00Z")).usage.when == when
