"""C2PA on a labelled output: signed last, valid when read back, a flipped byte in mdat named."""
from __future__ import annotations

import datetime
from dataclasses import replace

import pytest

pytest.importorskip("c2pa", reason="the c2pa extra (c2pa-python) is part of faceright[test]; absent only outside it")

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier  # noqa: E402

from faceright.labels.apply import apply_labels  # noqa: E402
from faceright.labels.c2pa_manifest import COMPOSITE_WITH_TRAINED  # noqa: E402
from faceright.labels.metadata import _boxes, read_metadata  # noqa: E402
from faceright.labels.verify import verify_file  # noqa: E402
from label_support import codes, errors  # noqa: E402

DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
C2PA_CLAIM_SIGNING = ObjectIdentifier("1.3.6.1.4.1.62558.2.1")

pytest_plugins = ("label_fixtures",)   # keys, settings, ocr, still, plate


def _cert(subject, issuer, public_key, signing_key, *, ca: bool):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                        critical=True)
    else:
        builder = (builder
                   .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                                  critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING,
                                                         C2PA_CLAIM_SIGNING]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
                                  critical=False))
    return builder.sign(signing_key, hashes.SHA256())


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A test CA and a claim-signing leaf, made here (recipes §3 lists the extensions c2pa needs)."""
    folder = tmp_path_factory.mktemp("c2pa-certs")
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "faceright test CA"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "faceright tests")])
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "faceright test studio"),
                           x509.NameAttribute(NameOID.ORGANIZATION_NAME, "faceright tests")])
    ca = _cert(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True)
    leaf = _cert(leaf_name, ca_name, leaf_key.public_key(), ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (folder / "chain.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "leaf.key").write_bytes(leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
    return folder


@pytest.fixture(scope="module")
def signed(plate, settings, certificates, tmp_path_factory):
    c2pa_settings = replace(settings, c2pa_cert_chain=certificates / "chain.pem", c2pa_key=certificates / "leaf.key")
    out = tmp_path_factory.mktemp("c2pa") / "shot.mp4"
    return apply_labels(plate, out, c2pa_settings, c2pa=True), c2pa_settings


def test_a_signed_output_carries_a_valid_manifest_and_its_aigc_label(signed):
    result, _ = signed
    report = result.report
    assert report.proven, report.findings
    assert {"c2pa.valid", "aigc.present", "aigc.signature_valid"} <= codes(report.findings)
    c2pa = report.evidence["c2pa"]
    assert c2pa["actions"][:2] == ["c2pa.opened", "c2pa.edited"]
    assert COMPOSITE_WITH_TRAINED in c2pa["digital_source_types"]
    assert len(read_metadata(result.path).by("structure")) == 1      # the c2pa box is not a second AIGC object


def test_our_ca_as_trust_anchor_makes_the_manifest_trusted(signed, certificates):
    result, c2pa_settings = signed
    report = verify_file(result.path, replace(c2pa_settings, c2pa_trust_anchors=certificates / "ca.pem"),
                         require_c2pa=True)
    assert report.evidence["c2pa"]["state"] == "Trusted"


def test_a_byte_flipped_in_mdat_is_a_hash_mismatch(signed, tmp_path):
    result, c2pa_settings = signed
    data = bytearray(result.path.read_bytes())
    mdat = next((start, end) for kind, start, end, _ in _boxes(bytes(data), 0, len(data)) if kind == "mdat")
    data[(mdat[0] + mdat[1]) // 2] ^= 0xFF
    flipped = tmp_path / "flipped.mp4"
    flipped.write_bytes(bytes(data))
    report = verify_file(flipped, c2pa_settings, require_c2pa=True)
    assert "c2pa.hash_mismatch" in errors(report.findings)
    # the metadata is intact and signed by the studio, but for the packets before the flip
    assert "aigc.signature_valid" in codes(report.findings) and "aigc.content_mismatch" in errors(report.findings)


def test_a_file_without_a_manifest_fails_only_when_c2pa_is_required(plate, settings, tmp_path):
    shot = apply_labels(plate, tmp_path / "shot.mp4", settings).path
    assert verify_file(shot, settings).proven
    assert errors(verify_file(shot, settings, require_c2pa=True).findings) == {"c2pa.absent"}


def test_remuxing_a_signed_file_loses_its_manifest_so_signing_must_come_last(signed, tmp_path):
    from faceright.engine.media.video import remux

    result, c2pa_settings = signed
    copied = remux(result.path, tmp_path / "remuxed.mp4")
    assert errors(verify_file(copied, c2pa_settings, require_c2pa=True).findings) == {"c2pa.absent"}


def _labelled_png(settings, folder):
    import cv2
    import numpy as np

    from faceright.labels.aigc import build_label
    from faceright.labels.content import content_digest
    from faceright.labels.metadata import write_image

    cv2.imwrite(str(folder / "plain.png"), np.full((32, 48, 3), 90, np.uint8))
    label = build_label(settings, content=content_digest(folder / "plain.png"))
    write_image(folder / "plain.png", folder / "shot.png", label.to_json())
    return folder / "shot.png"


def test_a_c2pa_read_error_blocks_even_when_c2pa_is_not_required(settings, tmp_path):
    shot = _labelled_png(settings, tmp_path)
    (tmp_path / "anchors.pem").write_text("not a certificate")
    report = verify_file(shot, replace(settings, c2pa_trust_anchors=tmp_path / "anchors.pem"))
    assert not report.proven and errors(report.findings) == {"c2pa.read_failed"}
    finding = next(f for f in report.findings if f.code == "c2pa.read_failed")
    assert str(shot) in finding.message and f"c2pa_trust_anchors ({tmp_path / 'anchors.pem'})" in finding.message
    assert finding.detail["file"] == str(shot) and finding.detail["error"]


def test_a_c2pa_reader_failure_does_not_vanish(settings, tmp_path, monkeypatch):
    from faceright.errors import MediaError
    from faceright.labels import c2pa_manifest

    def failing(path, trust_anchors=None):
        raise MediaError(f"the C2PA store of {path} is damaged")

    shot = _labelled_png(settings, tmp_path)
    monkeypatch.setattr(c2pa_manifest, "read", failing)
    report = verify_file(shot, settings)
    assert not report.proven and errors(report.findings) == {"c2pa.read_failed"}
    assert "is damaged" in next(f for f in report.findings if f.code == "c2pa.read_failed").message


def test_warn_only_lowers_an_optional_c2pa_read_error_and_says_so_but_never_a_required_one(settings, tmp_path):
    shot = _labelled_png(settings, tmp_path)
    (tmp_path / "anchors.pem").write_text("not a certificate")
    lenient = replace(settings, c2pa_trust_anchors=tmp_path / "anchors.pem", warn_only=("c2pa.read_failed",))
    report = verify_file(shot, lenient)
    assert report.proven and "aigc.present" in codes(report.findings)
    finding = next(f for f in report.findings if f.code == "c2pa.read_failed")
    assert finding.severity == "warning"
    assert "lowered from a block to a warning by the [labels] warn_only" in finding.message
    assert errors(verify_file(shot, lenient, require_c2pa=True).findings) == {"c2pa.read_failed"}
