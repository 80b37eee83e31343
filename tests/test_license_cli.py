"""The CLI contract of `faceright license` and `faceright keyring`, end to end through `main()`.

Keys, signatures, files and the registry (a real HTTP server on loopback) are real; only the
face recogniser is the stub, so these tests run without onnxruntime. The real engine's run of
the same commands is in test_license_identity_engine.py.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from faceright.cli import license as license_cli
from faceright.cli.main import main
from faceright.licenses import signing
from test_license_support import (
    NO_FACE, PERSON_A, PERSON_A_AGAIN, PERSON_B, SEVERAL_FACES, RegistryServer, StubEmbedder, write_face,
)

pytestmark = pytest.mark.hostside

TODAY = date.today().isoformat()


@pytest.fixture(autouse=True)
def stub_recogniser(monkeypatch):
    monkeypatch.setattr(license_cli, "_embedder", lambda: StubEmbedder())


@pytest.fixture(autouse=True)
def fast_registry_settings(isolated_home):
    (isolated_home / "config.toml").write_text(
        "[licenses]\nconnect_timeout_s = 0.5\nread_timeout_s = 0.3\nretries = 1\nbackoff_s = 0.01\n"
    )


class Platform:
    """A licensing platform and a studio TD, as two people would do it with the CLI."""

    def __init__(self, folder: Path, registry: RegistryServer) -> None:
        self.folder = folder
        self.registry = registry
        self.key = folder / "platform.pem"
        public = folder / "platform.pub.pem"
        assert main(["license", "keygen", "--private", str(self.key), "--public", str(public)]) == 0
        reg_public = folder / "registry.pub.pem"
        reg_public.write_bytes(signing.public_key_pem(registry.key.public_key()))
        assert main(["keyring", "add", str(folder / "platform.pub.pem"), "--name", "platform"]) == 0
        assert main(["keyring", "add", str(reg_public), "--name", "registry", "--role", "registry"]) == 0
        self.registry_id = signing.key_id(registry.key.public_key())

    def body(self, capsys, *, release: bool = False) -> Path:
        assert main(["license", "template", *(["--release"] if release else [])]) == 0
        body = json.loads(capsys.readouterr().out)
        today = date.today()
        body["term"] = {"start": (today - timedelta(days=30)).isoformat(),
                        "end": (today + timedelta(days=300)).isoformat(), "utc_offset": "+08:00"}
        body["consent"]["signed_at"] = f"{today - timedelta(days=30)}T10:00:00+08:00"  # before any --date TODAY
        body["revocation"] = {"registry_url": self.registry.url, "registry_key_id": self.registry_id}
        path = self.folder / ("release-body.json" if release else "body.json")
        path.write_text(json.dumps(body, indent=2))
        return path

    def issue(self, capsys, *, release: bool = False, face: int = PERSON_A, name: str = "license.json") -> Path:
        out = self.folder / name
        ref = write_face(self.folder / f"reference{face}.png", face)
        code = main(["license", "issue", "--key", str(self.key), "--body", str(self.body(capsys, release=release)),
                     "--out", str(out), "--reference-image", str(ref)])
        assert code == 0, capsys.readouterr().err
        capsys.readouterr()
        return out


@pytest.fixture
def registry(tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    with RegistryServer(Ed25519PrivateKey.generate()) as server:
        yield server


@pytest.fixture
def platform(tmp_path, registry, capsys) -> Platform:
    p = Platform(tmp_path, registry)
    capsys.readouterr()
    return p


def verify(path: Path, *extra: str) -> list[str]:
    return ["license", "verify", str(path), "--production", "PRJ-0001", "--platform", "douyin",
            "--territory", "CN", "--date", TODAY, "--tier", "ordinary", *extra]


def run_json(capsys, argv: list[str]) -> tuple[int, list[dict]]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_template_issue_verify_passes_with_exit_0_and_json_findings(platform, capsys, tmp_path):
    lic = platform.issue(capsys)
    donor = write_face(tmp_path / "donor.png", PERSON_A_AGAIN)
    code, findings = run_json(capsys, verify(lic, "--donor", str(donor)))
    assert code == 0
    assert [f["code"] for f in findings] == ["license.signature_ok", "license.revocation_ok", "license.identity_match"]
    assert all(set(f) >= {"code", "severity", "message"} and f["severity"] == "info" for f in findings)


def test_the_template_is_complete_json_with_every_member(capsys):
    assert main(["license", "template"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["schema"] == "faceright.likeness-license/1"
    assert {"licensor", "likeness", "licensee", "scope", "term", "uses", "reach", "sublicensing", "consent",
            "revocation"} <= set(body)
    assert main(["license", "template", "--release"]) == 0
    assert json.loads(capsys.readouterr().out)["schema"] == "faceright.plate-release/1"


def test_another_donor_face_blocks_with_exit_1(platform, capsys, tmp_path):
    lic = platform.issue(capsys)
    code, findings = run_json(capsys, verify(lic, "--donor", str(write_face(tmp_path / "b.png", PERSON_B))))
    assert code == 1
    assert [f["code"] for f in findings if f["severity"] == "error"] == ["license.identity_mismatch"]


@pytest.mark.parametrize("tag, expected", [(NO_FACE, "license.identity_no_face"),
                                           (SEVERAL_FACES, "license.identity_several_faces")])
def test_a_donor_image_without_exactly_one_face_blocks(platform, capsys, tmp_path, tag, expected):
    lic = platform.issue(capsys)
    code, findings = run_json(capsys, verify(lic, "--donor", str(write_face(tmp_path / "d.png", tag))))
    assert code == 1 and expected in [f["code"] for f in findings]


def test_human_output_prints_each_finding_and_a_verdict(platform, capsys, tmp_path):
    lic = platform.issue(capsys)
    code = main(verify(lic, "--donor", str(write_face(tmp_path / "d.png", PERSON_A)), "--territory", "US"))
    out = capsys.readouterr().out
    assert code == 1
    assert "error   license.territory_out_of_scope: territory 'US' is not licensed" in out
    assert out.rstrip().endswith("1 blocking finding(s)")


def test_a_plate_release_is_verified_against_the_plate_face(platform, capsys, tmp_path):
    rel = platform.issue(capsys, release=True, face=PERSON_B, name="release.json")
    code, findings = run_json(capsys, verify(rel, "--plate", str(write_face(tmp_path / "p.png", PERSON_B))))
    assert code == 0 and findings[-1]["code"] == "license.identity_match"
    assert main(verify(rel, "--donor", str(tmp_path / "p.png"))) == 2
    assert "give it with --plate" in capsys.readouterr().err


def test_verify_without_a_face_blocks(platform, capsys):
    code, findings = run_json(capsys, verify(platform.issue(capsys)))
    assert code == 1 and [f["code"] for f in findings if f["severity"] == "error"] == ["license.identity_unchecked"]


def test_a_date_time_in_another_zone_is_accepted_and_a_naive_one_refused(platform, capsys, tmp_path):
    lic = platform.issue(capsys)
    donor = str(write_face(tmp_path / "d.png", PERSON_A))
    argv = verify(lic, "--donor", donor)
    argv[argv.index("--date") + 1] = f"{TODAY}T12:00:00-05:00"
    assert main(argv) == 0
    argv[argv.index("--date") + 1] = f"{TODAY}T12:00:00"
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and "no UTC offset" in capsys.readouterr().err


@pytest.mark.parametrize("content, words", [
    (b'{"body": {"schema": "faceright.likeness', "truncated"),
    (b"not json at all", "not valid JSON"),
    (None, "was not read"),  # 50 MB
])
def test_an_unusable_file_is_a_malformed_finding_in_json_too(tmp_path, capsys, content, words):
    path = tmp_path / "license.json"
    if content is None:
        with path.open("wb") as fh:
            fh.truncate(50 * 1024 * 1024)
    else:
        path.write_bytes(content)
    code, findings = run_json(capsys, verify(path))
    assert code == 1
    assert [f["code"] for f in findings] == ["license.malformed"] and words in findings[0]["message"]


def test_issue_never_overwrites_and_refuses_an_unfilled_reference(platform, capsys):
    lic = platform.issue(capsys)
    before = lic.read_bytes()
    body = platform.body(capsys)
    assert main(["license", "issue", "--key", str(platform.key), "--body", str(body), "--out", str(lic),
                 "--reference-image", str(platform.folder / "reference1.png")]) == 2
    assert "never overwrites" in capsys.readouterr().err and lic.read_bytes() == before
    assert main(["license", "issue", "--key", str(platform.key), "--body", str(body),
                 "--out", str(platform.folder / "x.json")]) == 2
    assert "likeness reference is not filled in" in capsys.readouterr().err
    assert not (platform.folder / "x.json").exists()


def test_issue_with_a_public_key_explains_which_key_it_needs(platform, capsys):
    body = platform.body(capsys)
    assert main(["license", "issue", "--key", str(platform.folder / "platform.pub.pem"), "--body", str(body),
                 "--out", str(platform.folder / "x.json")]) == 2
    assert "signing needs the private key" in capsys.readouterr().err


def test_reference_prints_the_block_issue_would_fill(tmp_path, capsys):
    assert main(["license", "reference", str(write_face(tmp_path / "a.png", PERSON_A)), "--threshold", "0.55"]) == 0
    block = json.loads(capsys.readouterr().out)
    assert block["model_id"] == "stub-recogniser@1" and block["threshold"] == 0.55 and block["dim"] == 128


def test_inspect_shows_the_terms_and_whether_the_signer_is_trusted(platform, capsys):
    lic = platform.issue(capsys)
    assert main(["license", "inspect", str(lic)]) == 0
    out = capsys.readouterr().out
    assert "signature valid, by trusted key 'platform'" in out and "PRJ-0001" in out
    assert main(["keyring", "remove", "platform"]) == 0
    capsys.readouterr()
    assert main(["license", "inspect", str(lic)]) == 0
    assert "NOT in this keyring" in capsys.readouterr().out
    assert main(["license", "inspect", str(lic), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["schema"] == "faceright.likeness-license/1"


def test_revoke_signs_a_notice_sends_it_and_verify_then_blocks(platform, registry, capsys, tmp_path):
    lic = platform.issue(capsys)
    donor = str(write_face(tmp_path / "d.png", PERSON_A))
    notice = tmp_path / "notice.json"
    assert main(["license", "revoke", str(lic), "--key", str(platform.key), "--reason", "consent withdrawn",
                 "--out", str(notice)]) == 0
    assert registry.requests == ["POST /v1/revocations"]
    assert json.loads(notice.read_text())["body"]["reason"] == "consent withdrawn"
    capsys.readouterr()
    code, findings = run_json(capsys, verify(lic, "--donor", donor, "--offline"))
    assert code == 1 and "license.revoked" in [f["code"] for f in findings]


def test_only_the_issuers_key_can_revoke(platform, capsys, tmp_path):
    lic = platform.issue(capsys)
    signing.write_key_pair(tmp_path / "other.pem", tmp_path / "other.pub.pem")
    assert main(["license", "revoke", str(lic), "--key", str(tmp_path / "other.pem"), "--reason", "x",
                 "--no-publish"]) == 2
    assert "only the issuer's key" in capsys.readouterr().err


def test_refresh_then_offline_verify(platform, registry, capsys, tmp_path):
    lic = platform.issue(capsys)
    donor = str(write_face(tmp_path / "d.png", PERSON_A))
    code, findings = run_json(capsys, verify(lic, "--donor", donor, "--offline"))
    assert code == 1 and "faceright license refresh --registry" in findings[1]["message"]
    assert main(["license", "refresh", str(lic)]) == 0
    assert "0 revoked or suspended" in capsys.readouterr().out
    code, findings = run_json(capsys, verify(lic, "--donor", donor, "--offline"))
    assert code == 0 and findings[1]["code"] == "license.revocation_ok"


def test_a_lying_registry_blocks_verify_and_refresh(platform, registry, capsys, tmp_path):
    lic = platform.issue(capsys)
    registry.behaviour = "lying"
    code, findings = run_json(capsys, verify(lic, "--donor", str(write_face(tmp_path / "d.png", PERSON_A))))
    assert code == 1 and "license.revocation_untrusted" in [f["code"] for f in findings]
    assert main(["license", "refresh", "--registry", registry.url]) == 1
    assert "does not trust" in capsys.readouterr().err


def test_a_failing_registry_gives_status_unknown_and_exit_1(platform, registry, capsys, tmp_path):
    lic = platform.issue(capsys)
    registry.behaviour = "failing"
    code, findings = run_json(capsys, verify(lic, "--donor", str(write_face(tmp_path / "d.png", PERSON_A))))
    assert code == 1
    unknown = [f for f in findings if f["code"] == "license.revocation_unknown"]
    assert unknown and "HTTP 503" in unknown[0]["message"] and len(registry.requests) == 2  # 1 retry per config


def test_an_encrypted_issuer_key_works_with_its_passphrase_variable(platform, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("FR_PASS", "s3cret")
    key = tmp_path / "enc.pem"
    assert main(["keyring", "generate", "--private", str(key), "--public", str(tmp_path / "enc.pub.pem"),
                 "--passphrase-env", "FR_PASS"]) == 0
    capsys.readouterr()
    body = platform.body(capsys)
    argv = ["license", "issue", "--key", str(key), "--body", str(body), "--out", str(tmp_path / "l.json"),
            "--reference-image", str(write_face(tmp_path / "r.png", PERSON_A))]
    assert main(argv) == 2 and "encrypted" in capsys.readouterr().err
    assert main([*argv, "--passphrase-env", "FR_PASS"]) == 0


def test_refresh_refuses_a_future_dated_list_then_takes_the_correct_one(platform, registry, capsys, tmp_path):
    lic = platform.issue(capsys)
    donor = str(write_face(tmp_path / "d.png", PERSON_A))
    future = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
    registry.list_issued_at = future
    assert main(["license", "refresh", str(lic)]) == 1
    err = capsys.readouterr().err
    assert registry.url in err and f"dated {future.isoformat()}" in err and "(now " in err
    assert "not cached" in err
    registry.revoke(json.loads(lic.read_text())["body"]["license_id"])  # revoked afterwards
    registry.list_issued_at = None
    assert main(["license", "refresh", str(lic)]) == 0
    assert "1 revoked or suspended" in capsys.readouterr().out
    code, findings = run_json(capsys, verify(lic, "--donor", donor, "--offline"))
    assert code == 1 and "license.revoked" in [f["code"] for f in findings]


def test_refresh_refuses_a_stale_list_with_exit_1(platform, registry, capsys):
    lic = platform.issue(capsys)
    registry.list_issued_at = datetime.now(timezone.utc) - timedelta(hours=30)
    assert main(["license", "refresh", str(lic)]) == 1
    captured = capsys.readouterr()
    assert "stale" in captured.err and "30.0 h ago" in captured.err and "24 h allowed" in captured.err
    assert "list issued" not in captured.out
