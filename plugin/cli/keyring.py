"""``faceright keyring``: the issuer and registry keys this installation trusts.

    faceright keyring add PUBLIC_KEY.pem --name NAME [--role issuer|registry] [--expires DATE]
    faceright keyring list [--json]
    faceright keyring remove NAME|KEY_ID
    faceright keyring generate --private KEY.pem --public KEY.pub.pem [--passphrase-env VAR]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date, datetime, time, timezone
from pathlib import Path

from faceright.errors import ConfigError
from faceright.licenses import signing
from faceright.licenses.document import parse_datetime
from faceright.licenses.keyring import ROLES, Keyring


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("keyring", help="trusted license issuers and revocation registries",
                            description="The public keys this installation trusts (under FACERIGHT_HOME).")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
    cmds = parser.add_subparsers(dest="keyring_command", metavar="ACTION")

    add = cmds.add_parser("add", help="trust a public key")
    add.add_argument("public_key", type=Path, metavar="PUBLIC_KEY.pem", help="the issuer's or registry's public key")
    add.add_argument("--name", required=True, help="a short name for the issuer or registry")
    add.add_argument("--role", action="append", choices=ROLES, dest="roles",
                     help="what the key may sign: issuer (licenses, releases, revocation notices; the default) "
                          "or registry (revocation statuses and lists); repeat for both")
    add.add_argument("--expires", help="stop trusting the key at this date (YYYY-MM-DD, UTC midnight) or date-time")
    add.set_defaults(func=_add)

    lst = cmds.add_parser("list", help="list trusted keys")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.set_defaults(func=_list)

    rm = cmds.add_parser("remove", help="stop trusting a key")
    rm.add_argument("key", metavar="NAME|KEY_ID", help="the trusted key's name or key id (see `faceright keyring list`)")
    rm.set_defaults(func=_remove)

    gen = cmds.add_parser("generate", help="make a new Ed25519 key pair for issuing (platforms, studio legal)")
    add_generate_arguments(gen)
    gen.set_defaults(func=generate)


def add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--private", type=Path, required=True, metavar="KEY.pem",
                        help="private key file to create (mode 0600; keep it with the issuer)")
    parser.add_argument("--public", type=Path, required=True, metavar="KEY.pub.pem",
                        help="public key file to create (give it to the studios' TDs)")
    parser.add_argument("--passphrase-env", metavar="VAR",
                        help="encrypt the private key with the passphrase in environment variable VAR")


def passphrase_from_env(var: str | None) -> bytes | None:
    if var is None:
        return None
    value = os.environ.get(var)
    if not value:
        raise ConfigError(f"--passphrase-env {var}: the environment variable is not set or empty")
    return value.encode("utf-8")


def generate(args: argparse.Namespace) -> int:
    key = signing.write_key_pair(args.private, args.public, passphrase=passphrase_from_env(args.passphrase_env))
    print(f"wrote {args.private} (private, keep it secret) and {args.public} (public)")
    print(f"key id {signing.key_id(key.public_key())}")
    return 0


def _expiry(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        if "T" in text:
            return parse_datetime(text)
        return datetime.combine(date.fromisoformat(text), time(0, 0), tzinfo=timezone.utc)
    except ValueError as exc:
        raise ConfigError(f"--expires {text!r}: {exc}") from exc


def _add(args: argparse.Namespace) -> int:
    key = signing.load_public_key(args.public_key)
    entry = Keyring().add(key, name=args.name, roles=args.roles or ("issuer",), expires_at=_expiry(args.expires))
    print(f"trusted {entry.name} ({entry.key_id}) as {', '.join(entry.roles)}"
          + (f" until {entry.expires_at.isoformat()}" if entry.expires_at else ""))
    return 0


def _list(args: argparse.Namespace) -> int:
    keys = Keyring().keys()
    now = datetime.now(timezone.utc)
    if args.json:
        out = [{**{k: v for k, v in key.to_json().items() if k != "public_key_pem"}, "expired": key.expired(now)}
               for key in keys]
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not keys:
        print("no trusted keys (add one with `faceright keyring add PUBLIC_KEY.pem --name NAME`)")
        return 0
    for key in keys:
        until = key.expires_at.isoformat() if key.expires_at else "no expiry"
        state = " EXPIRED" if key.expired(now) else ""
        print(f"{key.name:24} {key.key_id}  {','.join(key.roles):16} {until}{state}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    gone = Keyring().remove(args.key)
    print(f"no longer trusted: {gone.name} ({gone.key_id})")
    return 0
