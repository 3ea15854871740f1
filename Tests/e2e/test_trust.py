"""Paths another user controls: what root reads from or decides by must be root's (or the running
user's) and writable by nobody else, all the way from `/` (hardening part 3).

Each test attacks the binary and failed on the code before the fix. Tests whose docstring starts
with `Row: FAULT | WHAT SECRET-SYNC DOES` are listed in docs/RELIABILITY.md.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
from pathlib import Path

import pytest

from conftest import REPO
from support import ok, two_secrets

NOBODY = pwd.getpwnam("nobody")


def forge_orphan(sync, victim: Path) -> None:
    """What another user who can write the state does: name a file for the next prune."""
    path = sync.state / "state.json"
    state = json.loads(path.read_text())
    state["orphans"] = [{"path": str(victim)}]
    path.write_text(json.dumps(state))


def pruning_only_a(sync, names) -> None:
    sync.write(f"- id: {names('a')}\n  name: a\n  files:\n    - path: {sync.out}/a\n", extra="prune: true\n")


@pytest.fixture
def victim(tmp_path) -> Path:
    """A file only root may touch (think /etc/shadow), in a directory only root may write."""
    path = tmp_path / "shadow"
    path.write_text("root's own file")
    path.chmod(0o600)
    return path


def untrusted(how: str, sync) -> str:
    """Makes the state untrustworthy in one of the ways another user could hold it; returns what the refusal names."""
    nobody = (NOBODY.pw_uid, NOBODY.pw_gid)
    if how == "state_dir owned by another user":
        os.chown(sync.state, *nobody)
        os.chown(sync.state / "state.json", *nobody)
        return f"state directory {sync.state} is owned by nobody"
    if how == "state_dir writable by others":
        sync.state.chmod(0o777)
        return f"state directory {sync.state} is writable by other users"
    if how == "a directory above state_dir owned by another user":
        above = sync.root / "above"
        above.mkdir()
        (sync.state).rename(above / "state")
        os.chown(above, *nobody)
        sync.state = above / "state"
        sync.manifest.write_text(sync.manifest.read_text().replace(f"state_dir: {sync.root}/state\n", f"state_dir: {sync.state}\n"))
        return f"below {above}, which is owned by nobody"
    if how == "state.json owned by another user":
        os.chown(sync.state / "state.json", *nobody)
        return f"state file {sync.state}/state.json is owned by nobody"
    if how == "state.json writable by others":
        (sync.state / "state.json").chmod(0o666)
        return f"state file {sync.state}/state.json is writable by other users"
    raise AssertionError(how)


WAYS = [
    "state_dir owned by another user",
    "state_dir writable by others",
    "a directory above state_dir owned by another user",
    "state.json owned by another user",
    "state.json writable by others",
]


@pytest.mark.parametrize("how", WAYS)
def test_a_state_another_user_controls_is_refused_and_prune_removes_nothing(sync, admin, names, victim, how):
    """Row: another user owns or may write state_dir, a directory above it, or state.json, and forges the orphan list | refused, naming the path and its owner; nothing is pruned, nothing written; exit 1"""
    two_secrets(sync, admin, names)
    ok(sync.once())
    pruning_only_a(sync, names)
    named = untrusted(how, sync)
    forge_orphan(sync, victim)
    result = sync.once()
    assert result.returncode == 1, result.stderr
    assert named in result.stderr, result.stderr
    assert "fix: " in result.stderr
    assert victim.read_text() == "root's own file"
    assert (sync.out / "b").read_text() == "b-v1"  # nothing pruned either
    dry = sync.once("--dry-run")
    assert dry.returncode == 1 and named in dry.stderr, dry.stderr
    assert "would remove" not in dry.stdout
    assert victim.exists()


def test_validate_and_status_refuse_a_state_another_user_controls(sync, admin, names):
    two_secrets(sync, admin, names)
    ok(sync.once())
    named = untrusted("state_dir owned by another user", sync)
    validate = subprocess.run([str(sync.binary), "validate", "-c", str(sync.manifest)], env=sync.env, capture_output=True, text=True)
    assert validate.returncode == 1 and named in validate.stderr, validate.stderr
    status = subprocess.run([str(sync.binary), "status", "-c", str(sync.manifest)], env=sync.env, capture_output=True, text=True)
    # Not "never synced" (exit 1): the state is not to be believed, so in-sync is unknown.
    assert status.returncode == 3, status.stdout + status.stderr
    assert named in status.stderr and "never" not in status.stdout, status.stdout + status.stderr


def test_a_state_dir_of_root_in_a_sticky_directory_is_trusted(sync, admin, names):
    """/tmp (sticky, writable by all) may lie above the state: nobody else can rename what root made there."""
    two_secrets(sync, admin, names)
    sticky = sync.root / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    sync.state = sticky / "state"
    sync.manifest.write_text(sync.manifest.read_text().replace(f"state_dir: {sync.root}/state\n", f"state_dir: {sync.state}\n"))
    ok(sync.once())
    assert (sync.state / "state.json").stat().st_uid == 0


def test_install_sh_takes_back_an_existing_state_directory(tmp_path, binary):
    root = tmp_path / "root"
    for directory in ("var/lib/secret-sync", "etc/secret-sync", "etc/ira"):
        (root / directory).mkdir(parents=True)
        os.chown(root / directory, NOBODY.pw_uid, NOBODY.pw_gid)
        (root / directory).chmod(0o777)
    result = subprocess.run([str(REPO / "deploy" / "install.sh"), "--binary", str(binary)],
                            env={**os.environ, "DESTDIR": str(root)}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for directory, mode in (("var/lib/secret-sync", 0o700), ("etc/secret-sync", 0o755), ("etc/ira", 0o700)):
        info = (root / directory).stat()
        assert (info.st_uid, info.st_gid, info.st_mode & 0o7777) == (0, 0, mode), directory


# --- names from data: protected variables by family ------------------------------------------


SDK_AND_TRUST = {
    "AWS_CA_BUNDLE": "/tmp/evil-ca.pem",
    "AWS_ENDPOINT_URL": "https://evil.example",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER": "https://evil.example",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://evil.example/creds",
    "AWS_CONFIG_FILE": "/tmp/evil-config",
    "SSLKEYLOGFILE": "/tmp/keys.log",
    "GRPC_PROXY": "http://evil.example:3128",
    "NODE_EXTRA_CA_CERTS": "/tmp/evil-ca.pem",
}


@pytest.mark.parametrize("variable", sorted(SDK_AND_TRUST))
def test_a_secrets_fields_cannot_set_sdk_proxy_or_trust_variables_through_dotenv(sync, admin, names, variable):
    """Row: a secret's JSON field names AWS_CA_BUNDLE, AWS_ENDPOINT_URL*, AWS_CONTAINER_CREDENTIALS_FULL_URI, SSLKEYLOGFILE or a *_PROXY in a dotenv file | refused, naming the variable and its family; no file is written"""
    admin.create_secret(Name=names("evil"), SecretString=json.dumps({variable: SDK_AND_TRUST[variable], "OK": "1"}))
    sync.write(f"- id: {names('evil')}\n  files:\n    - path: {sync.out}/app.env\n      format: dotenv\n")
    result = sync.once()
    assert result.returncode == 1, result.stderr
    assert f"would set {variable}" in result.stderr and "changes how programs are loaded" in result.stderr, result.stderr
    assert not (sync.out / "app.env").exists()


def test_a_prefix_cannot_make_sdk_variables(sync, admin, names):
    admin.create_secret(Name=names("evil"), SecretString=json.dumps({"ENDPOINT_URL": "https://evil.example", "REGION": "x"}))
    sync.write(f"- id: {names('evil')}\n  env:\n    - prefix: AWS_\n")
    marker = sync.root / "started"
    result = subprocess.run([str(sync.binary), "run", "-c", str(sync.manifest), "--", "touch", str(marker)],
                            env=sync.env, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert "would set AWS_ENDPOINT_URL through prefix AWS_" in result.stderr and "AWS_*" in result.stderr, result.stderr
    assert not marker.exists()


def test_an_explicit_name_may_still_set_an_sdk_variable(sync, admin, names):
    admin.create_secret(Name=names("region"), SecretString="eu-west-1")
    sync.write(f"- id: {names('region')}\n  env:\n    - name: AWS_REGION\n")
    result = subprocess.run([str(sync.binary), "run", "-c", str(sync.manifest), "--", "sh", "-c", 'printf %s "$AWS_REGION"'],
                            env=sync.env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "eu-west-1"


def test_a_prefix_refuses_non_portable_names_instead_of_transliterating(sync, admin, names):
    """Row: a field named `straße` under an env prefix: | refused (not APP_STRASSE); the command is not started"""
    admin.create_secret(Name=names("u"), SecretString=json.dumps({"straße": "x"}))
    sync.write(f"- id: {names('u')}\n  env:\n    - prefix: APP_\n")
    marker = sync.root / "started"
    result = subprocess.run([str(sync.binary), "run", "-c", str(sync.manifest), "--", "touch", str(marker)],
                            env=sync.env, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert "APP_STRASSE" not in result.stderr and "straße" in result.stderr, result.stderr
    assert not marker.exists()
