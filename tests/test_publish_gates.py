"""The publish gates in pyblish: every problem shown at once, nothing extracted or integrated after one,
no gate that can vanish, repairs that rerun their check. On the embedded example's real faces."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pyblish.api
import pyblish.plugin
import pyblish.util
import pytest

from faceright import api, validators
from faceright.config import Config
from faceright.engine.cli.demo import build_example
from faceright.engine.jobs.local import LocalEngine
from faceright.validators.publish import run_publish

FRAMES = 24


@dataclass(frozen=True)
class Example:
    folder: Path
    blocked: Path
    licensed: Path
    config_file: Path
    home: Path
    plate: Path


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Example:
    folder = tmp_path_factory.mktemp("example")
    built = build_example(folder, frames=FRAMES, broll=12, backend="classic")
    return Example(folder, built.example.blocked, built.example.licensed, built.config_file, built.studio.config.home,
                   built.plate)


@pytest.fixture
def config(example) -> Config:
    return Config.load(example.config_file, environ={"FACERIGHT_HOME": str(example.home)})


@pytest.fixture(scope="module")
def engine(example):
    config = Config.load(example.config_file, environ={"FACERIGHT_HOME": str(example.home)})
    with LocalEngine(config) as engine:
        yield engine


def session(config, engine, timeline: Path, out: Path, **kw) -> api.PublishSession:
    return api.PublishSession(config=config, engine=engine, out=out, timeline=timeline,
                              ledger_url=f"sqlite:///{out / 'ledger.sqlite'}", **kw)


def ran(context, name: str) -> list[dict]:
    return [r for r in context.data["results"] if r["plugin"].__name__ == name]


def test_an_unlicensed_shot_blocks_the_publish_with_every_gate_run_and_nothing_extracted(example, config, engine,
                                                                                          tmp_path):
    result = run_publish(session(config, engine, example.blocked, tmp_path / "pub"))
    assert not result.passed and result.ledger_record is None
    assert any("sh030" in line and "license.identity_mismatch" in line for line in result.blocking)
    assert not any("sh010" in line for line in result.blocking)
    # validation went on after the failure: every shot gate ran on both shots
    for gate in ("ValidateLicense", "ValidatePlateRelease", "ValidateDonorIdentity", "ValidateContentTags",
                 "ValidateTier", "ValidateModels"):
        assert sorted(r["instance"].name for r in ran(result.context, gate)) == ["sh010", "sh030"], gate
    # nothing was extracted or integrated after it
    for step in ("ExtractFaceShot", "ExtractDeliverable", "IntegrateLedger", "IntegrateReport"):
        assert not ran(result.context, step), step
    assert not list((tmp_path / "pub" / "shots").iterdir())
    assert not (tmp_path / "pub" / "ledger.sqlite").exists()
    # the blocked publish still has its report, naming the reason
    page = result.report.read_text(encoding="utf-8")
    assert "license.identity_mismatch" in page and "BLOCKED" in page


def test_a_deregistered_gate_blocks_a_host_publish(example, config, engine, tmp_path):
    pyblish.api.deregister_all_plugins()
    try:
        validators.register()
        pyblish.api.deregister_plugin(validators.ValidateDonorIdentity)
        context = pyblish.api.Context()
        context.data["faceright"] = session(config, engine, example.licensed, tmp_path / "pub")
        pyblish.util.publish(context)          # as a host's publisher runs: the discovered plugins
    finally:
        pyblish.api.deregister_all_plugins()
    (gates,) = ran(context, "ValidateGates")
    assert gates["error"] is not None
    assert [f.code for f in gates["error"].findings if f.blocks] == ["publish.plugin_missing"]
    assert "ValidateDonorIdentity" in str(gates["error"])
    assert not ran(context, "ExtractFaceShot") and not ran(context, "IntegrateLedger")


def test_a_gate_left_out_of_the_plugins_given_blocks(example, config, engine, tmp_path):
    chosen = [p for p in validators.plugins() if p.__name__ != "ValidateLicense"]
    result = run_publish(session(config, engine, example.licensed, tmp_path / "pub"), plugins=chosen)
    assert not result.passed
    assert any("publish.plugin_missing" in line and "ValidateLicense" in line for line in result.blocking)


def test_without_the_gate_check_itself_the_integrators_still_refuse(example, config, engine, tmp_path):
    # the gate check and a license gate both taken away: the ledger integrator notices the missing gates
    chosen = [p for p in validators.plugins() if p.__name__ not in ("ValidateGates", "ValidateLicense",
                                                                     "ExtractFaceShot", "ExtractDeliverable")]
    context = pyblish.api.Context()
    context.data["faceright"] = session(config, engine, example.licensed, tmp_path / "pub")
    pyblish.util.publish(context, plugins=chosen)
    (ledger,) = ran(context, "IntegrateLedger")
    assert ledger["error"] is not None
    text = str([f.message for f in ledger["error"].findings])
    assert "ValidateGates did not run" in text and "ValidateLicense did not run on sh010" in text
    assert context.data["faceright"].ledger_record is None


def test_a_plugin_module_that_fails_to_import_blocks(example, config, engine, tmp_path, monkeypatch):
    monkeypatch.setitem(validators.PLUGIN_MODULES, "validate_not_there", "ValidateNotThere")
    result = run_publish(session(config, engine, example.licensed, tmp_path / "pub"))
    assert not result.passed
    assert any("publish.plugin_import_failed" in line and "validate_not_there" in line for line in result.blocking)
    assert not ran(result.context, "ExtractFaceShot")


def _instance(context, shot, output: Path):
    instance = context.create_instance(shot.shot_id, family="faceright.faceshot", families=["faceright.faceshot"])
    instance.data.update(faceshot=shot, output=output)
    return instance


def test_an_unswapped_plate_handed_in_as_the_output_is_not_the_licensed_donor(example, config, engine, tmp_path):
    timeline = api.read_timeline(example.licensed, outputs=tmp_path / "shots")
    shot = timeline.shots[0].shot
    context = pyblish.api.Context()
    context.data["faceright"] = session(config, engine, example.licensed, tmp_path / "pub")
    instance = _instance(context, shot, example.plate)       # the plate itself, frames 0.. = the shot's range
    with pytest.raises(api.GateFailed) as failed:
        validators.ValidateOutputIdentity().process(instance)
    assert [f.code for f in failed.value.findings] == ["output.identity_mismatch"]


def test_a_shot_that_was_never_swapped_is_named_not_a_traceback(example, config, engine, tmp_path):
    timeline = api.read_timeline(example.licensed, outputs=tmp_path / "shots")
    shot = timeline.shots[0].shot
    context = pyblish.api.Context()
    context.data["faceright"] = session(config, engine, example.licensed, tmp_path / "pub")
    missing = tmp_path / "never-rendered.mp4"
    instance = _instance(context, shot, missing)
    with pytest.raises(api.GateFailed) as failed:
        validators.ValidateOutputIdentity().process(instance)
    (finding,) = failed.value.findings
    assert finding.code == "output.missing" and str(missing) in finding.message and "swap the shot" in finding.message


def test_the_output_label_repair_labels_the_file_and_reruns_the_check(example, config, engine, tmp_path):
    timeline = api.read_timeline(example.licensed, outputs=tmp_path / "shots")
    shot = timeline.shots[0].shot
    unlabelled = tmp_path / "sh010.mp4"
    shutil.copy(example.plate, unlabelled)                   # a render without the AIGC metadata
    context = pyblish.api.Context()
    context.data["faceright"] = session(config, engine, example.licensed, tmp_path / "pub")
    instance = _instance(context, shot, unlabelled)
    result = pyblish.plugin.process(validators.ValidateOutputLabel, context, instance)
    assert result["error"] is not None and "aigc" in str(result["error"]).lower()
    context.data.setdefault("results", []).append(result)
    (repair,) = validators.ValidateOutputLabel.actions
    repair().process(context, validators.ValidateOutputLabel)        # fixes, then runs the same check again
    assert api.verify_label(unlabelled, config.labels, target="shot").proven
    validators.ValidateOutputLabel().process(instance)               # passes now


def test_every_gate_has_an_artist_title_and_a_repair_sentence():
    for plugin in validators.plugins():
        if plugin.__name__.startswith("Validate"):
            assert plugin.title and plugin.repair and plugin.__doc__, plugin
            assert pyblish.api.ValidatorOrder <= plugin.order < pyblish.api.ValidatorOrder + 0.5 or \
                plugin.order > pyblish.api.ExtractorOrder, plugin
    assert [p.__name__ for p in validators.plugins()] == list(validators.PLUGIN_MODULES.values())


def test_a_blocked_publish_lists_each_cause_once_not_nested_in_the_integrators_refusals():
    """An extractor fails; the ledger refuses on that line, the report on both: one cause, said once."""
    cause = api.GateFailed("Extract the shot", [api.Finding("extract.failed", "error", "the engine is down")])
    first = "Write the shot: extract.failed: the engine is down"

    class Extract:
        title = "Write the shot"

    ledger = api.GateFailed("Nothing is integrated after an error",
                            [api.Finding("publish.not_integrated", "error", first)])
    report = api.GateFailed("Nothing is integrated after an error", [
        api.Finding("publish.not_integrated", "error", first),
        api.Finding("publish.not_integrated", "error", f"Record the publish in the ledger: publish.not_integrated: {first}"),
        api.Finding("publish.not_integrated", "error", "the gate ValidateTier did not run: it was deregistered")])
    results = [{"plugin": Extract, "error": cause}, {"plugin": validators.IntegrateLedger, "error": ledger},
               {"plugin": validators.IntegrateReport, "error": report}]
    assert api.publish_results.error_lines(results) == [
        first, "Write the publish report: publish.not_integrated: the gate ValidateTier did not run: it was deregistered"]
