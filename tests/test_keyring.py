"""The TD's keyring: trusted issuer and registry keys under FACERIGHT_HOME, with roles and expiry."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceright.cli.main import main
from faceright.licenses import signing
from faceright.licenses.keyring import Keyring, KeyringError

pytestmark = pytest.mark.hostside


def test_the_keyring_lives_under_faceright_home(isolated_home):
    key = Ed25519PrivateKey.generate().public_key()
    Keyring().add(key, name="platform")
    assert (isolated_home / "keyring" / "keyring.json").is_file()
    assert [k.name for k in Keyring(isolated_home / "keyring" / "keyring.json").keys()] == ["platform"]


def test_add_list_remove_round_trip():
    ring = Keyring()
    a, b = Ed25519PrivateKey.generate().public_key(), Ed25519PrivateKey.generate().public_key()
    ring.add(a, name="platform-a")
    ring.add(b, name="registry-b", roles=("registry",))
    assert [(k.name, k.roles) for k in ring.keys()] == [("platform-a", ("issuer",)), ("registry-b", ("registry",))]
    assert ring.get(signing.key_id(b)).name == "registry-b"
    ring.remove("platform-a")
    ring.remove(signing.key_id(b))  # by key id works too
    assert ring.keys() == []


def test_the_same_key_or_name_cannot_be_added_twice():
    ring = Keyring()
    key = Ed25519PrivateKey.generate().public_key()
    ring.add(key, name="platform")
    with pytest.raises(KeyringError, match="already trusted as 'platform'"):
        ring.add(key, name="platform-again")
    with pytest.raises(KeyringError, match="named 'platform' is already trusted"):
        ring.add(Ed25519PrivateKey.generate().public_key(), name="platform")


def test_removing_an_unknown_key_lists_the_trusted_ones():
    Keyring().add(Ed25519PrivateKey.generate().public_key(), name="platform")
    with pytest.raises(KeyringError, match=r"no trusted key is named 'nobody' \(trusted: platform\)"):
        Keyring().remove("nobody")


def test_expiry_must_be_in_the_future_and_is_honoured():
    ring = Keyring()
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    with pytest.raises(KeyringError, match="already past"):
        ring.add(Ed25519PrivateKey.generate().public_key(), name="old", expires_at=now - timedelta(days=1), now=now)
    entry = ring.add(Ed25519PrivateKey.generate().public_key(), name="yearly", expires_at=now + timedelta(days=365),
                     now=now)
    assert not entry.expired(now) and entry.expired(now + timedelta(days=365))


@pytest.mark.parametrize("name", ["", "has space", "../escape", "x" * 65])
def test_key_names_are_plain(name):
    with pytest.raises(KeyringError, match="key name"):
        Keyring().add(Ed25519PrivateKey.generate().public_key(), name=name)


def test_a_hand_edited_key_id_is_refused_not_trusted():
    ring = Keyring()
    trusted = Ed25519PrivateKey.generate().public_key()
    ring.add(trusted, name="platform")
    data = json.loads(ring.path.read_text())
    impostor = Ed25519PrivateKey.generate().public_key()
    data["keys"][0]["public_key_pem"] = signing.public_key_pem(impostor).decode()  # id still names `trusted`
    ring.path.write_text(json.dumps(data))
    with pytest.raises(KeyringError, match="edited by hand"):
        ring.keys()


def test_cli_generate_add_list_remove(tmp_path, capsys):
    private, public = tmp_path / "platform.pem", tmp_path / "platform.pub.pem"
    assert main(["keyring", "generate", "--private", str(private), "--public", str(public)]) == 0
    key_id = signing.key_id(signing.load_public_key(public))
    assert key_id in capsys.readouterr().out
    assert main(["keyring", "add", str(public), "--name", "platform", "--expires", "2099-01-01"]) == 0
    assert main(["keyring", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.split("\n", 1)[1])  # after the "trusted ..." line
    assert listed == [{"name": "platform", "key_id": key_id, "roles": ["issuer"], "added_at": listed[0]["added_at"],
                       "expires_at": "2099-01-01T00:00:00+00:00", "expired": False}]
    assert main(["keyring", "remove", "platform"]) == 0
    assert main(["keyring", "list"]) == 0
    assert "no trusted keys" in capsys.readouterr().out


def test_cli_refuses_a_private_key_given_as_the_public_one(tmp_path, capsys):
    private, public = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    signing.write_key_pair(private, public)
    assert main(["keyring", "add", str(private), "--name", "oops"]) == 2
    assert "holds a private key; give the public key" in capsys.readouterr().err
    assert Keyring().keys() == []


def test_cli_add_with_both_roles(tmp_path):
    private, public = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    signing.write_key_pair(private, public)
    assert main(["keyring", "add", str(public), "--name", "platform", "--role", "issuer", "--role", "registry"]) == 0
    assert Keyring().keys()[0].roles == ("issuer", "registry")
