"""Paths another user controls: what root reads from or decides by must be root's (or the running
user's) and writable by nobody else, all the way from `/` (hardening part 3).

Each test attacks the binary and failed on the code before the fix. Tests whose docstring starts
with `Row: FAULT | WHAT SECRET-SYNC DOES` are listed in docs/RELIABILITY.md.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
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


# --- what root is configured by: manifest, templates, PIN and auth files ---------------------


def loosen(path: Path, how: str) -> str:
    """Gives `path` to another user, or to every user; returns what the refusal must say."""
    if how == "owned by another user":
        os.chown(path, NOBODY.pw_uid, NOBODY.pw_gid)
        return f"{path} is owned by nobody (nobody:nogroup"
    if how == "writable by its group":
        os.chown(path, 0, NOBODY.pw_gid)
        path.chmod(0o664)
        return f"{path} is writable by the group nogroup (root:nogroup 0664)"
    path.chmod(0o666)
    return f"{path} is writable by other users (root:root 0666)"


@pytest.mark.parametrize("how", ["owned by another user", "writable by its group", "writable by others"])
def test_a_manifest_another_user_controls_is_refused_as_root(sync, admin, names, how):
    """Row: as root, a manifest another user owns or may write (its hooks run as root) | refused like sshd's StrictModes, naming the file, owner and mode; nothing is fetched, written or run; exit 2"""
    admin.create_secret(Name=names("a"), SecretString="v1")
    marker = sync.root / "hook-ran"
    sync.write(f"- id: {names('a')}\n  files:\n    - path: {sync.out}/a\n  on_change:\n    - touch {marker}\n")
    named = loosen(sync.manifest, how)
    for command in (["once"], ["validate"], ["status"]):
        result = subprocess.run([str(sync.binary), *command, "-c", str(sync.manifest)], env=sync.env, capture_output=True, text=True)
        assert result.returncode == 2, (command, result.stderr)
        assert f"manifest {named}" in result.stderr and "fix: chown root:root" in result.stderr, result.stderr
    assert not marker.exists() and not (sync.out / "a").exists()


def test_roots_group_may_write_what_root_is_configured_by(sync, admin, names):
    """A checkout made with umask 002 is root:root 0775 (gid 0 is root's, as logrotate holds): its manifest is used."""
    admin.create_secret(Name=names("a"), SecretString="v1")
    checkout = sync.root / "checkout"
    checkout.mkdir()
    checkout.chmod(0o775)
    manifest = checkout / "manifest.yaml"
    sync.write(f"- id: {names('a')}\n  files:\n    - path: {sync.out}/a\n")
    sync.manifest.rename(manifest)
    manifest.chmod(0o664)
    result = subprocess.run([str(sync.binary), "once", "-c", str(manifest)], env=sync.env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (sync.out / "a").read_text() == "v1"


def test_a_manifest_below_a_directory_another_user_owns_is_refused(sync, admin, names):
    admin.create_secret(Name=names("a"), SecretString="v1")
    sync.write(f"- id: {names('a')}\n  files:\n    - path: {sync.out}/a\n")
    theirs = sync.root / "theirs"
    theirs.mkdir()
    os.chown(theirs, NOBODY.pw_uid, NOBODY.pw_gid)
    manifest = theirs / "manifest.yaml"
    sync.manifest.rename(manifest)
    result = subprocess.run([str(sync.binary), "once", "-c", str(manifest)], env=sync.env, capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert f"manifest {manifest} is below {theirs}, which is owned by nobody" in result.stderr, result.stderr


def test_a_template_file_another_user_controls_is_refused_as_root(sync, admin, names):
    admin.create_secret(Name=names("db"), SecretString=json.dumps({"password": "pw"}))
    template = sync.root / "db.conf.tmpl"
    template.write_text("password={{password}}\n")
    sync.write(f"- id: {names('db')}\n  files:\n    - path: {sync.out}/db.conf\n      template_file: {template}\n")
    ok(sync.once())
    named = loosen(template, "writable by others")
    result = sync.once()
    assert result.returncode == 2, result.stderr
    assert f"template file {named}" in result.stderr, result.stderr
    assert (sync.out / "db.conf").read_text() == "password=pw\n"


def test_a_user_may_keep_a_manifest_of_their_own(sync, admin, names, tmp_path):
    """Not as root, the judgement is not made: a user's own manifest in their own directory is theirs to trust."""
    home = Path(tempfile.mkdtemp(prefix="secret-sync-user-"))
    try:
        home.chmod(0o755)
        manifest = home / "manifest.yaml"
        manifest.write_text("version: 1\nauth:\n  environment: true\nregion: us-west-2\n"
                            f"state_dir: {home}/state\nsecrets:\n  - id: x\n    files:\n      - path: {home}/x\n")
        os.chown(home, NOBODY.pw_uid, NOBODY.pw_gid)
        os.chown(manifest, NOBODY.pw_uid, NOBODY.pw_gid)
        manifest.chmod(0o664)
        result = subprocess.run(["setpriv", f"--reuid={NOBODY.pw_uid}", f"--regid={NOBODY.pw_gid}", "--clear-groups",
                                 str(sync.binary), "validate", "-c", str(manifest)], env=sync.env, capture_output=True, text=True)
        assert "refus" not in result.stderr, result.stderr
        assert result.returncode == 0, result.stderr
    finally:
        shutil.rmtree(home, ignore_errors=True)


# --- an answer used for another request: Parameter Store ----------------------------------------


def two_parameters(sync, ssm_admin, names, faults) -> tuple[str, str]:
    base = "/" + names("p")
    a_id = f"{base}/a"
    ssm_admin.put_parameter(Name=a_id, Value="a-real", Type="SecureString")
    ssm_admin.put_parameter(Name=f"{base}/b", Value="b-real", Type="String")
    sync.env["AWS_ENDPOINT_URL_SSM"] = sync.env["AWS_ENDPOINT_URL_SECRETS_MANAGER"]
    sync.write("", parameters=f"""\
        - id: {a_id}
          name: a
          files:
            - path: {sync.out}/a
        - id: {base}/b
          name: b
          files:
            - path: {sync.out}/b
        """)
    return a_id, f"{base}/b"


@pytest.mark.parametrize("fault", ["twin", "twinregion"])
def test_parameter_answers_are_matched_by_arn_region_and_account_not_first_by_name(sync, ssm_admin, names, faults, fault):
    """Row: a GetParameters answer holding, first, a same-named parameter of another account or region | each file gets its own parameter: an ambiguous name is asked alone, never the first that fits"""
    # By name: moto's GetParameters does not take ARNs (AnswerMatcherTests cover ARN requests).
    two_parameters(sync, ssm_admin, names, faults)
    faults.inject([fault])
    result = sync.once()
    assert result.returncode == 0, result.stderr
    assert faults.requests[0] == fault
    assert (sync.out / "a").read_text() == "a-real"
    assert (sync.out / "b").read_text() == "b-real"


def test_a_parameter_answered_only_ambiguously_is_refused(sync, ssm_admin, names, faults):
    two_parameters(sync, ssm_admin, names, faults)
    faults.inject(["twin"] * 6)
    result = sync.once()
    assert result.returncode == 1, result.stderr
    assert "did not answer" in result.stderr and "twin:" not in result.stderr
    assert not (sync.out / "a").exists() and not (sync.out / "b").exists()


# --- names from data: duplicate and Unicode-equivalent field names --------------------------------


def test_a_duplicate_json_key_renders_the_last_value_everywhere_as_jq_and_python_do(sync, admin, names):
    """Row: a secret's JSON with a duplicate key (`{"password":"first","password":"second"}`) | the last value wins in key:, dotenv, templates and env, as jq and Python read it"""
    text = '{"password":"first","user":"app","password":"second"}'
    assert json.loads(text)["password"] == "second"
    admin.create_secret(Name=names("dup"), SecretString=text)
    sync.write(f"""\
        - id: {names("dup")}
          files:
            - path: {sync.out}/password
              key: password
            - path: {sync.out}/app.env
              format: dotenv
            - path: {sync.out}/conf
              template: "{{{{password}}}}"
        """)
    ok(sync.once())
    assert (sync.out / "password").read_text() == "second"
    assert (sync.out / "conf").read_text() == "second"
    assert (sync.out / "app.env").read_text().count("PASSWORD") == 0  # fields are written as named
    env_lines = (sync.out / "app.env").read_text().splitlines()
    assert [line for line in env_lines if line.startswith("password=")] == ['password="second"'], env_lines


def test_field_names_are_compared_as_written_not_by_unicode_equivalence(sync, admin, names):
    """Row: `key: "cafe\\u0301"` against a field `"caf\\u00e9"` (canonically equivalent) | not the same field: the secret fails as a missing field, nothing is written"""
    admin.create_secret(Name=names("u"), SecretString=json.dumps({"caf\u00e9": "latte"}))
    sync.write(f'- id: {names("u")}\n  files:\n    - path: {sync.out}/coffee\n      key: "cafe\\u0301"\n')
    result = sync.once()
    assert result.returncode == 1, result.stderr
    assert not (sync.out / "coffee").exists()
    sync.write(f'- id: {names("u")}\n  files:\n    - path: {sync.out}/coffee\n      key: "caf\\u00e9"\n')
    ok(sync.once())
    assert (sync.out / "coffee").read_text() == "latte"


# --- every removal proven -------------------------------------------------------------------------


def test_prune_never_removes_a_file_the_manifest_still_names_while_its_entry_fails(sync, admin, names):
    """Row: an entry renamed and re-pointed at a secret that cannot be read, its file still named (`prune: true`) | the file is kept, as the pass says: prune never removes what the manifest names"""
    two_secrets(sync, admin, names)
    ok(sync.once())
    sync.write(f"""\
        - id: {names("a")}
          name: a
          files:
            - path: {sync.out}/a
        - id: {names("missing")}
          name: b-renamed
          files:
            - path: {sync.out}/b
        """, extra="prune: true\n")
    result = sync.once()
    assert result.returncode == 1, result.stderr
    assert "the last good files were kept" in result.stderr
    assert f"removed {sync.out / 'b'}" not in result.stderr, result.stderr
    assert (sync.out / "b").read_text() == "b-v1"


def nobodys_directory(sync) -> Path:
    """A directory under the test's root that another user owns (think ~nobody)."""
    directory = sync.root / "nobodys"
    directory.mkdir(mode=0o755)
    os.chown(directory, NOBODY.pw_uid, NOBODY.pw_gid)
    return directory


def test_a_hook_program_another_user_controls_is_not_run_as_root(sync, admin, names):
    """Row: as root, a hook's program (or a profile's credential_process) in a directory another user owns | not run: the hook fails naming the program, owner and mode; the files are written, the hook stays owed"""
    admin.create_secret(Name=names("a"), SecretString="v1")
    marker = sync.root / "hook-ran"
    program = nobodys_directory(sync) / "reload"
    program.write_text(f"#!/bin/sh\ntouch {marker}\n")
    program.chmod(0o755)
    sync.write(f"- id: {names('a')}\n  files:\n    - path: {sync.out}/a\n  on_change:\n    - [{program}]\n")
    result = sync.once()
    assert result.returncode == 1, result.stderr
    assert f"program {program} is below {program.parent}, which is owned by nobody" in result.stderr, result.stderr
    assert not marker.exists()
    assert (sync.out / "a").read_text() == "v1"
    # Given back to root, the owed hook runs on the next pass.
    os.chown(program.parent, 0, 0)
    ok(sync.once())
    assert marker.exists()
