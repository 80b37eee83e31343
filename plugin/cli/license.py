"""``faceright license``: issue, verify, inspect and revoke likeness licenses and plate releases.

    faceright license template [--release] > BODY.json
    faceright license keygen --private KEY.pem --public KEY.pub.pem
    faceright license reference IMAGE... [--threshold T]
    faceright license issue --key KEY.pem --body BODY.json --out LICENSE.json [--reference-image IMAGE...]
    faceright license verify LICENSE.json --production P --platform X --territory T --date YYYY-MM-DD
                             --donor IMAGE [--json]       (exit 0 only when nothing blocks)
    faceright license inspect LICENSE.json [--json]
    faceright license revoke LICENSE.json --key KEY.pem --reason TEXT
    faceright license refresh [--registry URL] [LICENSE.json...]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


from faceright.errors import ConfigError, LicenseError
from faceright.findings import Finding, blocking
from faceright.licenses import identity, issuing, revocation, signing, strictjson, template
from faceright.licenses.document import (
    PlateRelease, load_signed, parse_date, parse_datetime,
)
from faceright.licenses.keyring import Keyring
from faceright.licenses.settings import license_settings
from faceright.licenses.verify import Verifier

from .keyring import add_generate_arguments, generate, passphrase_from_env
from .usage_options import add_usage_arguments, usage_from_args

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("license", help="likeness licenses and plate releases",
                            description="Issue, verify, inspect and revoke signed likeness licenses "
                                        "and plate releases.")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
    cmds = parser.add_subparsers(dest="license_command", metavar="ACTION")

    tpl = cmds.add_parser("template", help="print an example body to fill in")
    tpl.add_argument("--release", action="store_true", help="a plate release instead of a likeness license")
    tpl.set_defaults(func=_template)

    gen = cmds.add_parser("keygen", help="make an issuer key pair (same as `faceright keyring generate`)")
    add_generate_arguments(gen)
    gen.set_defaults(func=generate)

    ref = cmds.add_parser("reference", help="print the likeness reference block made from reference images")
    ref.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="photos of the licensed face; one face each")
    ref.add_argument("--threshold", type=float, default=0.5, help="cosine similarity a face must reach (default 0.5)")
    ref.set_defaults(func=_reference)

    iss = cmds.add_parser("issue", help="sign a filled-in body")
    iss.add_argument("--key", type=Path, required=True, metavar="PRIVATE_KEY.pem", help="the issuer's private key")
    iss.add_argument("--body", type=Path, required=True, metavar="BODY.json",
                     help="the filled-in body (start from `faceright license template`)")
    iss.add_argument("--out", type=Path, required=True, metavar="LICENSE.json", help="the signed document (never overwritten)")
    iss.add_argument("--reference-image", type=Path, action="append", metavar="IMAGE",
                     help="fill the likeness (or face) reference from this image; repeat for several")
    iss.add_argument("--threshold", type=float, default=None,
                     help="match threshold for --reference-image (default: the body's, else 0.5)")
    iss.add_argument("--passphrase-env", metavar="VAR", help="the private key's passphrase is in this variable")
    iss.set_defaults(func=_issue)

    ver = cmds.add_parser("verify", help="check a license or release against a shot; exit 0 only when nothing blocks")
    ver.add_argument("license", type=Path, metavar="LICENSE.json", help="the signed license or release")
    add_usage_arguments(ver)
    face = ver.add_mutually_exclusive_group()
    face.add_argument("--donor", type=Path, metavar="IMAGE", help="the donor face used (likeness licenses)")
    face.add_argument("--plate", type=Path, metavar="IMAGE", help="the plate performer's face (plate releases)")
    ver.add_argument("--offline", action="store_true", help="use the cached revocation list, not the registry")
    ver.add_argument("--json", action="store_true", help="print the findings as JSON (code, severity, message)")
    ver.set_defaults(func=_verify)

    ins = cmds.add_parser("inspect", help="show what a license or release says and whether its signer is trusted")
    ins.add_argument("license", type=Path, metavar="LICENSE.json", help="the signed license or release")
    ins.add_argument("--json", action="store_true", help="print the signed body as JSON")
    ins.set_defaults(func=_inspect)

    rev = cmds.add_parser("revoke", help="withdraw a license or release (the issuer signs a revocation notice)")
    rev.add_argument("license", type=Path, metavar="LICENSE.json", help="the license or release to withdraw")
    rev.add_argument("--key", type=Path, required=True, metavar="PRIVATE_KEY.pem", help="the issuer's private key")
    rev.add_argument("--reason", required=True, help="why, in words (kept in the notice)")
    rev.add_argument("--effective-from", type=parse_datetime, metavar="DATETIME",
                     help="when the revocation takes effect (default: now)")
    rev.add_argument("--existing-cuts", choices=("must_remove", "may_distribute_until", "unaffected"),
                     default="must_remove",
                     help="what happens to cuts already made with it (default: must_remove)")
    rev.add_argument("--distribute-until", type=parse_date, metavar="YYYY-MM-DD",
                     help="with --existing-cuts may_distribute_until: the last day")
    rev.add_argument("--out", type=Path, metavar="NOTICE.json", help="also write the signed notice here")
    rev.add_argument("--no-publish", action="store_true", help="do not send the notice to the registry")
    rev.add_argument("--passphrase-env", metavar="VAR", help="the private key's passphrase is in this variable")
    rev.set_defaults(func=_revoke)

    ref_ = cmds.add_parser("refresh", help="fetch and cache revocation lists for offline checks")
    ref_.add_argument("licenses", nargs="*", type=Path, metavar="LICENSE.json",
                      help="refresh the registries these documents name")
    ref_.add_argument("--registry", action="append", default=[], metavar="URL", help="a registry URL; repeat")
    ref_.set_defaults(func=_refresh)


# -- helpers -------------------------------------------------------------------------------------


def _embedder() -> identity.FaceEmbedder:
    """The engine's face analyser (detector + recogniser), through the engine client: the
    engine is only loaded when a face is checked."""
    from faceright.engine_client import open_engine

    return open_engine().embedder()


def _print_findings(findings: list[Finding], as_json: bool) -> None:
    if as_json:
        json.dump([f.to_json() for f in findings], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    for f in findings:
        print(f"{f.severity:7} {f.code}: {f.message}")
    blocks = blocking(findings)
    print(f"{len(blocks)} blocking finding(s)" if blocks else "nothing blocks")


# -- commands ---------------------------------------------------------------------------------------


def _template(args: argparse.Namespace) -> int:
    body = template.release_template() if args.release else template.license_template()
    json.dump(body, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def _reference_block(images: list[Path], threshold: float) -> dict[str, Any]:
    files = [identity.read_image(path) for path in images]
    return identity.make_reference(files, _embedder(), threshold=threshold)


def _reference(args: argparse.Namespace) -> int:
    json.dump(_reference_block(args.images, args.threshold), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _issue(args: argparse.Namespace) -> int:
    settings = license_settings()
    key = signing.load_private_key(args.key, passphrase_from_env(args.passphrase_env))
    body = strictjson.loads(strictjson.read_bounded(args.body, settings.max_document_bytes), what=str(args.body))
    reference = None
    if args.reference_image:
        threshold = args.threshold
        if threshold is None:
            member = body.get(issuing.reference_member(body)) if isinstance(body, dict) else None
            current = member.get("threshold") if isinstance(member, dict) else None
            threshold = float(current) if isinstance(current, (int, float)) and not isinstance(current, bool) else 0.5
        reference = _reference_block(args.reference_image, threshold)
    elif args.threshold is not None:
        raise ConfigError("--threshold goes with --reference-image")
    signed = issuing.issue(body, key, reference=reference)
    issuing.write_new(args.out, issuing.dumps_signed(signed))
    d = signed.document
    print(f"issued {d.KIND} {d.doc_id} signed by {signed.signature.key_id} -> {args.out}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    overrides = {"revocation_mode": "offline"} if args.offline else {}
    settings = license_settings(**overrides)
    keyring = Keyring()
    shot = usage_from_args(args)
    try:
        signed = load_signed(args.license, max_bytes=settings.max_document_bytes)
    except LicenseError as exc:
        findings = [Finding("license.malformed", "error", f"cannot use {args.license}: {exc}")]
        _print_findings(findings, args.json)
        return 1
    is_release = isinstance(signed.document, PlateRelease)
    if is_release and args.donor is not None:
        raise ConfigError("a plate release covers the plate performer's face: give it with --plate, not --donor")
    if not is_release and args.plate is not None:
        raise ConfigError("a likeness license covers the donor's face: give it with --donor, not --plate")
    image_path = args.plate if is_release else args.donor
    face: identity.FaceEvidence | Finding | None = None
    if image_path is not None:
        picture = identity.read_image(image_path)
        face = identity.evidence_from_image(picture.image, _embedder(), source=str(image_path),
                                            what="plate" if is_release else "donor")
    offline = settings.revocation_mode == "offline"
    with contextlib.nullcontext() if offline else _http_session() as session:
        client = None if offline else revocation.RegistryClient(session, settings)
        checker = revocation.RevocationChecker(keyring, settings, revocation.RevocationStore(), client)
        findings = Verifier(keyring, settings, checker).verify(signed, shot, face)
    _print_findings(findings, args.json)
    return 1 if blocking(findings) else 0


def _inspect(args: argparse.Namespace) -> int:
    settings = license_settings()
    signed = load_signed(args.license, max_bytes=settings.max_document_bytes)
    if args.json:
        json.dump(signed.body, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    d = signed.document
    trusted = Keyring().get(signed.signature.key_id)
    if trusted is None:
        trust = "NOT in this keyring"
    elif signing.verify_signature(signed.body, signed.signature, trusted.public_key):
        trust = f"valid, by trusted key {trusted.name!r}"
    else:
        trust = f"INVALID for trusted key {trusted.name!r}"
    ref = d.reference
    lines = [
        f"{d.KIND} {d.doc_id} (version {d.version}, {d.SCHEMA})",
        f"issuer      {d.issuer.name} — key {signed.signature.key_id}, signature {trust}",
        f"issued at   {d.issued_at.isoformat()}",
        f"person      {d.subject.person_id} ({d.subject.jurisdiction}{', minor' if d.subject.is_minor else ''})",
        f"reference   model {ref.model_id}, {ref.dim}-d, threshold {ref.threshold}, "
        f"{len(ref.images)} image(s)",
        f"licensee    {d.licensee.name} ({d.licensee.aigc_provider_code})",
        f"term        {d.term.start} .. {d.term.end} (UTC{d.term.utc_offset})",
        f"productions {', '.join(f'{p.project_id} {p.title!r}' for p in d.scope.productions)}",
        f"territories {', '.join(d.scope.territories)}; platforms {', '.join(d.scope.platforms)}; "
        f"media {', '.join(d.scope.media)}; languages {', '.join(d.scope.languages) or '-'}",
        f"uses        {', '.join(d.uses.allowed)}; prohibited: {', '.join(d.uses.prohibited_content) or '-'}",
        f"reach       tier {d.reach.tier}, budget cap "
        f"{'-' if d.reach.max_budget_cny is None else format(d.reach.max_budget_cny, ',')} CNY",
        f"consent     separate={d.consent.separate_consent}, signed {d.consent.signed_at.isoformat()} "
        f"by {d.consent.method}",
        f"revocation  {d.revocation.registry_url} (key {d.revocation.registry_key_id})",
    ]
    print("\n".join(lines))
    return 0


def _revoke(args: argparse.Namespace) -> int:
    settings = license_settings()
    signed = load_signed(args.license, max_bytes=settings.max_document_bytes)
    d = signed.document
    key = signing.load_private_key(args.key, passphrase_from_env(args.passphrase_env))
    if signing.key_id(key.public_key()) != d.issuer.key_id:
        raise LicenseError(f"only the issuer's key ({d.issuer.key_id}) can revoke {d.doc_id}; this key is "
                           f"{signing.key_id(key.public_key())}")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    body = revocation.notice_body(d, reason=args.reason, effective_from=args.effective_from or now,
                                  existing_cuts=args.existing_cuts, distribute_until=args.distribute_until, now=now)
    data = revocation.dumps_record(signing.envelope(body, key))
    path = revocation.RevocationStore().save_notice(d.doc_id, data)
    print(f"revoked {d.KIND} {d.doc_id} on this machine (notice {path})")
    if args.out is not None:
        issuing.write_new(args.out, data)
        print(f"wrote the signed notice to {args.out}")
    if args.no_publish:
        return 0
    with _http_session() as session:
        revocation.RegistryClient(session, settings).publish_notice(d.revocation.registry_url, data)
    print(f"sent the notice to {d.revocation.registry_url}")
    return 0


def _refresh(args: argparse.Namespace) -> int:
    settings = license_settings()
    keyring = Keyring()
    targets: dict[str, str | None] = {url.rstrip("/"): None for url in args.registry}
    for path in args.licenses:
        d = load_signed(path, max_bytes=settings.max_document_bytes).document
        targets[d.revocation.registry_url.rstrip("/")] = d.revocation.registry_key_id
    if not targets:
        raise ConfigError("name the registries to refresh: --registry URL, or license files")
    store = revocation.RevocationStore()
    failed = 0
    with _http_session() as session:
        client = revocation.RegistryClient(session, settings)
        for url, key in targets.items():
            try:
                listing = revocation.refresh_list(client, store, keyring, url, key_id=key)
            except LicenseError as exc:
                failed += 1
                print(f"faceright: error: {url}: {exc}", file=sys.stderr)
                continue
            print(f"{url}: {len(listing.entries)} revoked or suspended, list issued {listing.issued_at.isoformat()}")
    return 1 if failed else 0


def _http_session() -> Any:
    """A ``requests.Session`` for the registry (imported here: offline commands never load requests)."""
    import requests

    return requests.Session()
