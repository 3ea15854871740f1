"""Hostile input and a hostile process environment, against the binary.

Each test attacks one defect class found by the outside audits (hardening issues): it failed on
the code before the fix. Tests whose docstring starts with `Row: FAULT | WHAT SECRET-SYNC DOES`
are listed in docs/RELIABILITY.md by scripts/reliability-table.py.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, run
from support import Notifications, Sync, start_daemon, stop, wait_for

sys.path.insert(0, str(REPO))

NOBODY = pwd.getpwnam("nobody")


def one_file(sync: Sync, admin, names, path: Path, value: str = "v1", hooks: str = "", extra: str = "") -> None:
    admin.create_secret(Name=names("a"), SecretString=value)
    sync.write(f"- id: {names('a')}\n  name: a\n  files:\n    - path: {path}\n" + hooks, extra=extra)


def state(sync: Sync) -> dict:
    return json.loads((sync.state / "state.json").read_text())


# --- destinations: who may plant what -------------------------------------------------------


def test_a_symlink_in_a_directory_owned_by_another_user_is_not_followed(sync, admin, names, shared_dir):
    """Row: another user plants a symlink in a directory they own (0755) on a destination path | the link is not followed; nothing is created or written at its target; exit 1"""
    victim = shared_dir / "victim"
    victim.mkdir()
    home = shared_dir / "home"
    home.mkdir()
    os.chown(home, NOBODY.pw_uid, NOBODY.pw_gid)
    (home / "conf").symlink_to(victim)
    os.chown(home / "conf", NOBODY.pw_uid, NOBODY.pw_gid, follow_symlinks=False)
    one_file(sync, admin, names, home / "conf" / "made" / "secret")
    result = sync.once()
    assert result.returncode == 1, result.stderr
    assert f"{home}/conf is a symbolic link in a directory owned by nobody" in result.stderr, result.stderr
    assert list(victim.iterdir()) == []
    # The plan says the same as the write.
    plan = sync.once("--dry-run")
    assert "would create" not in plan.stdout, plan.stdout
    assert f"{home}/conf is a symbolic link" in plan.stdout, plan.stdout


def test_a_root_owned_symlink_in_a_root_owned_directory_is_followed(sync, admin, names, shared_dir):
    real = shared_dir / "real"
    real.mkdir()
    (shared_dir / "alias").symlink_to(real)
    one_file(sync, admin, names, shared_dir / "alias" / "secret")
    result = sync.once()
    assert result.returncode == 0, result.stderr
    assert (real / "secret").read_text() == "v1"


def test_directories_owned_by_other_users_are_reported(sync, admin, names, shared_dir):
    home = shared_dir / "home"
    home.mkdir()
    os.chown(home, NOBODY.pw_uid, NOBODY.pw_gid)
    one_file(sync, admin, names, home / "secret")
    result = sync.once()
    assert result.returncode == 0, result.stderr
    assert f"destination directory {home} is owned by nobody" in result.stderr, result.stderr
    check = run(sync.binary, ["validate", "-c", str(sync.manifest)], sync.env)
    assert f"{home} is owned by nobody" in check.stderr, check.stdout + check.stderr


def test_created_directories_are_0755_whatever_the_umask(sync, admin, names):
    """Row: secret-sync started with umask 0077 (as the shipped units do) | missing parent directories are created 0755 all the same, so the application can reach its file"""
    one_file(sync, admin, names, sync.out / "tls" / "deep" / "secret")
    result = subprocess.run(["sh", "-c", 'umask 077; exec "$@"', "sh", str(sync.binary), "once", "-c", str(sync.manifest)],
                            env=sync.env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for directory in (sync.out, sync.out / "tls", sync.out / "tls" / "deep"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o755, directory


def test_a_secrets_files_are_written_together_or_not_at_all(sync, admin, names):
    """Row: one of a secret's files cannot be written (a directory stands at its path) | none of that secret's files is replaced; all keep the previous version; exit 1"""
    admin.create_secret(Name=names("a"), SecretString=json.dumps({"x": "x1", "y": "y1"}))
    sync.write(f"""\
        - id: {names("a")}
          files:
            - path: {sync.out}/x
              key: x
            - path: {sync.out}/y
              key: y
        """)
    assert sync.once().returncode == 0
    admin.put_secret_value(SecretId=names("a"), SecretString=json.dumps({"x": "x2", "y": "y2"}))
    (sync.out / "y").unlink()
    (sync.out / "y").mkdir()
    result = sync.once()
    assert result.returncode == 1
    assert "exists and is not a regular file" in result.stderr
    assert (sync.out / "x").read_text() == "x1"
    assert sorted(p.name for p in sync.out.iterdir()) == ["x", "y"]  # no temporary file left


@pytest.mark.parametrize("length, works", [(221, True), (255, True), (256, False)])
def test_long_file_names(sync, admin, names, length, works):
    name = "n" * length
    one_file(sync, admin, names, sync.out / name)
    result = sync.once()
    if works:
        assert result.returncode == 0, result.stderr
        assert (sync.out / name).read_text() == "v1"
        assert sync.once().returncode == 0
    else:
        assert result.returncode == 2, result.stderr
        assert "file name is 256 bytes long; at most 255 are allowed" in result.stderr, result.stderr


def test_a_template_swapped_for_a_link_or_a_fifo_is_refused(sync, admin, names, shared_dir):
    """Row: a template file swapped for a symlink to a root-only file (by the user owning its directory), or for a FIFO | refused without reading it: the root-only file never reaches the output, and the pass does not hang"""
    admin.create_secret(Name=names("a"), SecretString=json.dumps({"x": "1"}))
    private = shared_dir / "root-only"
    private.write_text("TOPSECRET")
    private.chmod(0o600)
    templates = shared_dir / "templates"
    templates.mkdir()
    os.chown(templates, NOBODY.pw_uid, NOBODY.pw_gid)
    (templates / "app.tmpl").symlink_to(private)
    sync.write(f"- id: {names('a')}\n  files:\n    - path: {sync.out}/app.conf\n      template_file: {templates}/app.tmpl\n      mode: \"0644\"\n")
    result = sync.once()
    # As root the template is refused before anything is fetched: its directory is another user's
    # (PathTrust); not as root, the link in it would not be followed either (PathWalker).
    assert result.returncode == 2, result.stderr
    assert f"template file {templates}/app.tmpl is below {templates}, which is owned by nobody" in result.stderr, result.stderr
    assert "TOPSECRET" not in result.stderr
    assert not (sync.out / "app.conf").exists()

    fifo = shared_dir / "fifo.tmpl"
    os.mkfifo(fifo)
    sync.write(f"- id: {names('a')}\n  files:\n    - path: {sync.out}/app.conf\n      template_file: {fifo}\n")
    result = sync.once("--timeout", "20s")
    assert result.returncode == 1, result.stderr
    assert f"template file {fifo}: it is not a regular file" in result.stderr, result.stderr


def test_a_huge_sparse_destination_is_replaced_without_reading_it(sync, admin, names):
    """Row: the owner of a destination file makes it a 64 GiB sparse file | a size that differs is a change: the file is replaced at once, never read back"""
    admin.create_secret(Name=names("a"), SecretString="v1")
    sync.write(f"- id: {names('a')}\n  files:\n    - path: {sync.out}/a\n      owner: nobody\n      mode: \"0600\"\n")
    assert sync.once().returncode == 0
    os.truncate(sync.out / "a", 64 << 30)
    started = time.monotonic()
    result = sync.once()
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 20
    assert (sync.out / "a").read_text() == "v1"


def test_profile_files_another_user_owns_are_refused_as_root(sync, admin, names, world):
    d = world.description()
    config = Path(sync.env["AWS_SHARED_CREDENTIALS_FILE"])
    config.write_text(f"[app]\naws_access_key_id = {d['admin_access_key_id']}\naws_secret_access_key = {d['admin_secret_access_key']}\n")
    config.chmod(0o644)  # whatever the umask: the refusal names the mode
    os.chown(config, NOBODY.pw_uid, NOBODY.pw_gid)
    one_file(sync, admin, names, sync.out / "a")
    sync.manifest.write_text(sync.manifest.read_text().replace(sync.auth(), "auth:\n  profile: app\nregion: us-west-2\n"))
    result = sync.once()
    assert result.returncode == 1
    assert f"AWS credentials file {config} is owned by nobody (nobody:nogroup 0644), who could make secret-sync run any credential_process as root" in result.stderr, result.stderr
    os.chown(config, 0, 0)
    assert sync.once().returncode == 0


# --- what a secret's content and the network may do ---------------------------------------


def test_batch_answers_are_matched_by_arn_not_by_name(sync, admin, names, faults, world):
    """Row: a BatchGetSecretValue answer holding a same-named secret of another account | each file gets its own secret: an ARN request matches only its ARN, an ambiguous name is read singly"""
    a = admin.create_secret(Name=names("a"), SecretString="a-real")["ARN"]
    admin.create_secret(Name=names("b"), SecretString="b-real")
    sync.write(f"""\
        - id: {a}
          name: a
          files:
            - path: {sync.out}/a
        - id: {names("b")}
          name: b
          files:
            - path: {sync.out}/b
        """)
    faults.inject(["twin"])
    result = sync.once()
    assert result.returncode == 0, result.stderr
    assert faults.requests[0] == "twin"
    assert (sync.out / "a").read_text() == "a-real"
    assert (sync.out / "b").read_text() == "b-real"


def test_one_undecodable_value_fails_alone_not_its_batch_mates(sync, admin, names, faults):
    """Row: one secret of a BatchGetSecretValue answer holds a lone UTF-16 surrogate (no UTF-8 text can) | only that secret fails, naming why; its batch mates are written; the answer is not thrown away"""
    admin.create_secret(Name=names("good"), SecretString="good-value")
    admin.create_secret(Name=names("bad"), SecretString="bad-value")
    sync.write(f"""\
        - id: {names("good")}
          name: good
          files:
            - path: {sync.out}/good
        - id: {names("bad")}
          name: bad
          files:
            - path: {sync.out}/bad
        """)
    faults.inject(["surrogate"] * 8)
    result = sync.once()
    assert result.returncode == 1, result.stderr
    assert (sync.out / "good").read_text() == "good-value"
    assert not (sync.out / "bad").exists()
    assert "its SecretString is not text (it holds a lone UTF-16 surrogate (\\uD800))" in result.stderr, result.stderr
    assert "1 of 2 secrets failed (bad)" in result.stderr, result.stderr


def test_an_aws_error_message_cannot_forge_log_lines(sync, admin, names, faults):
    """Row: an error message from the network carrying newlines and fake log lines | control characters are escaped: one event, one line"""
    one_file(sync, admin, names, sync.out / "a")
    faults.inject(["forge"])
    result = sync.once()
    assert result.returncode == 1
    assert "denied\\nnotice: forged line from the network\\r\\nerror: another" in result.stderr, result.stderr
    assert not any(line.startswith(("notice: forged", "error: another")) for line in result.stderr.splitlines())


def test_a_prefix_cannot_set_loader_or_shell_variables(sync, admin, names):
    """Row: a secret's JSON field names that would make LD_PRELOAD, PATH or BASH_ENV through env prefix: or dotenv | refused, naming the variable; the command is not started and no file is written"""
    admin.create_secret(Name=names("evil"), SecretString=json.dumps({"PRELOAD": "/tmp/evil.so", "OK": "1"}))
    sync.write(f"- id: {names('evil')}\n  env:\n    - prefix: LD_\n")
    marker = sync.root / "started"
    result = run(sync.binary, ["run", "-c", str(sync.manifest), "--", "touch", str(marker)], sync.env)
    assert result.returncode == 1
    assert "LD_PRELOAD" in result.stderr and "changes how programs are loaded" in result.stderr, result.stderr
    assert not marker.exists()

    admin.create_secret(Name=names("path"), SecretString=json.dumps({"PATH": "/tmp/evil", "BASH_ENV": "/tmp/x"}))
    sync.write(f"- id: {names('path')}\n  files:\n    - path: {sync.out}/env\n      format: dotenv\n")
    result = sync.once()
    assert result.returncode == 1
    assert "field 'PATH'" in result.stderr and "changes how programs are loaded" in result.stderr, result.stderr
    assert not (sync.out / "env").exists()


def test_an_explicit_name_may_set_a_protected_variable(sync, admin, names):
    admin.create_secret(Name=names("lib"), SecretString="/opt/vendor/lib")
    sync.write(f"- id: {names('lib')}\n  env:\n    - name: LD_LIBRARY_PATH\n")
    result = run(sync.binary, ["run", "-c", str(sync.manifest), "--", "sh", "-c", 'printf %s "$LD_LIBRARY_PATH"'], sync.env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "/opt/vendor/lib"


def test_an_empty_prefix_is_a_manifest_error(sync, admin, names):
    sync.write(f"- id: {names('x')}\n  env:\n    - prefix: \"\"\n")
    result = run(sync.binary, ["run", "-c", str(sync.manifest), "--", "true"], sync.env)
    assert result.returncode == 2
    assert "env[0].prefix: an empty prefix" in result.stderr, result.stderr


def test_a_huge_error_message_is_cut_in_the_state(sync, admin, names, faults):
    """Row: an AWS error message of 100 KB | kept in the state cut to 1,000 characters, so the state file cannot outgrow what is read back"""
    one_file(sync, admin, names, sync.out / "a")
    faults.inject(["bigerror"])
    assert sync.once().returncode == 1
    error = state(sync)["secrets"]["a"]["lastError"]
    assert 1000 < len(error) <= 1001 and error.endswith("…")


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("extra, message", [
    ("interval: 10000000000000000000s\n", "interval: '10000000000000000000s' is out of range"),
    ("interval: 100d\n", "interval: '100d' is out of range"),
    ("hook_timeout: 99999999999h\n", "hook_timeout: '99999999999h' is out of range"),
])
def test_absurd_durations_are_manifest_errors(sync, admin, names, extra, message):
    sync.write(f"- id: {names('x')}\n  files:\n    - path: {sync.out}/x\n", extra=extra)
    result = run(sync.binary, ["validate", "-c", str(sync.manifest)], sync.env)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr, result.stderr


def test_a_huge_session_duration_is_a_manifest_error_not_a_crash(sync, names):
    sync.write(f"- id: {names('x')}\n  files:\n    - path: {sync.out}/x\n",
               auth=sync.auth() + "    session_duration: 10000000000000000000s\n")
    result = run(sync.binary, ["validate", "-c", str(sync.manifest)], sync.env)
    assert result.returncode == 2, result.stderr
    assert "session_duration: '10000000000000000000s' is out of range" in result.stderr, result.stderr


@pytest.mark.parametrize("args, message", [
    (["status", "--max-age", "99999999999999999999s"], "--max-age '99999999999999999999s' is out of range"),
    (["once", "--timeout", "99999999999999999999h"], "--timeout '99999999999999999999h' is out of range"),
])
def test_absurd_durations_in_flags_are_usage_errors(sync, names, args, message):
    sync.write(f"- id: {names('x')}\n  files:\n    - path: {sync.out}/x\n")
    result = run(sync.binary, [*args, "-c", str(sync.manifest)], sync.env)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize("owner", ["4294967295", "4294967296"])
def test_ids_that_cannot_own_a_file_are_refused(sync, names, owner):
    sync.write(f"- id: {names('x')}\n  files:\n    - path: {sync.out}/x\n      owner: \"{owner}\"\n")
    result = run(sync.binary, ["validate", "-c", str(sync.manifest)], sync.env)
    assert result.returncode == 2, result.stderr
    assert "owner" in result.stderr and "cannot own a file" in result.stderr, result.stderr


@pytest.mark.parametrize("where", ["arn", "region", "roles_anywhere"])
def test_regions_are_checked_against_the_partition_pattern(sync, names, where):
    bad = "evil.example/x"
    if where == "arn":
        sync.write(f"- id: arn:aws:secretsmanager:{bad}:123456789012:secret:x-AbCdEf\n  files:\n    - path: {sync.out}/x\n")
    elif where == "region":
        sync.write(f"- id: x\n  region: us-west-2.evil.example\n  files:\n    - path: {sync.out}/x\n")
        bad = "us-west-2.evil.example"
    else:
        sync.write(f"- id: x\n  files:\n    - path: {sync.out}/x\n", auth=sync.auth() + f"    region: {bad}\n")
    result = run(sync.binary, ["validate", "-c", str(sync.manifest)], sync.env)
    assert result.returncode == 2, result.stderr
    assert f"'{bad}' is not an AWS region" in result.stderr, result.stderr


def test_credential_process_region_flag_is_checked(binary, world, clean_env):
    from conftest import credential_process_args
    pki = world.pki / "clients"
    args = credential_process_args(world, str(pki / "direct" / "rsa2048-pkcs1.crt"), str(pki / "rsa2048-pkcs1.key"))
    result = run(binary, [*args, "--region", "x.evil.example"], clean_env)
    assert result.returncode == 2, result.stderr
    assert "'x.evil.example' is not an AWS region" in result.stderr, result.stderr


# --- state -----------------------------------------------------------------------------------


def test_a_state_that_cannot_be_saved_does_not_rerun_hooks_in_a_daemon(sync, admin, names):
    """Row: the state file cannot be saved (a directory stands at state.json) | the daemon remembers in memory: hooks run once, not on every pass; every pass reports the problem"""
    one_file(sync, admin, names, sync.out / "a", hooks=f"  on_change:\n    - {sync.hook('h')}\n", extra="interval: 1s\n")
    (sync.state).mkdir()
    (sync.state / "state.json").mkdir()
    notify = Notifications(sync.root)
    daemon = start_daemon(sync, notify)
    try:
        statuses = [notify.next() for _ in range(4)]
    finally:
        stderr = stop(daemon)
    assert len(sync.hook_runs()) == 1, (sync.hook_runs(), stderr)
    assert all("state" in s for s in statuses), statuses
    assert "cannot save the state" in stderr and "hooks may run again" in stderr, stderr


def test_once_says_loudly_when_the_state_cannot_be_saved(sync, admin, names):
    one_file(sync, admin, names, sync.out / "a", hooks=f"  on_change:\n    - {sync.hook('h')}\n")
    (sync.state).mkdir()
    (sync.state / "state.json").mkdir()
    result = sync.once()
    assert result.returncode == 1
    assert "cannot save the state" in result.stderr and "hooks may run again" in result.stderr, result.stderr
    assert (sync.out / "a").read_text() == "v1"


def test_a_damaged_state_is_reported_and_kept_aside(sync, admin, names):
    """Row: a damaged state.json | reported as an error, kept aside as state.json.damaged-TIME for inspection, and a fresh state is written"""
    one_file(sync, admin, names, sync.out / "a")
    sync.state.mkdir()
    (sync.state / "state.json").write_text('{"format": 1, "secrets": {')
    result = sync.once()
    assert result.returncode == 0, result.stderr
    assert "state file" in result.stderr and "is damaged" in result.stderr, result.stderr
    kept = [p for p in sync.state.iterdir() if p.name.startswith("state.json.damaged-")]
    assert len(kept) == 1 and kept[0].read_text() == '{"format": 1, "secrets": {'
    assert state(sync)["secrets"]["a"]["versionId"]


# --- credentials -----------------------------------------------------------------------------


def make_user(world, name: str):
    d = world.description()
    iam = world.boto_client("iam", keys=(d["admin_access_key_id"], d["admin_secret_access_key"]))
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue"], "Resource": "*"}]}))
    return iam


def test_a_rotated_profile_key_is_picked_up_without_a_restart(sync, admin, names, world):
    """Row: the access key of `auth: profile` is rotated while the daemon runs (old key deleted) | the refused credentials are dropped and read again; the next pass succeeds"""
    user = f"rotating-{names('u').split('/')[1]}"
    iam = make_user(world, user)
    old = iam.create_access_key(UserName=user)["AccessKey"]
    credentials = Path(sync.env["AWS_SHARED_CREDENTIALS_FILE"])
    credentials.write_text(f"[app]\naws_access_key_id = {old['AccessKeyId']}\naws_secret_access_key = {old['SecretAccessKey']}\n")
    admin.create_secret(Name=names("a"), SecretString="v1")
    sync.write(f"- id: {names('a')}\n  files:\n    - path: {sync.out}/a\n", auth="auth:\n  profile: app\nregion: us-west-2\n",
               extra="interval: 1s\n")
    notify = Notifications(sync.root)
    daemon = start_daemon(sync, notify)
    try:
        assert notify.next().startswith("READY=1\nSTATUS=in sync")
        new = iam.create_access_key(UserName=user)["AccessKey"]
        credentials.write_text(f"[app]\naws_access_key_id = {new['AccessKeyId']}\naws_secret_access_key = {new['SecretAccessKey']}\n")
        iam.delete_access_key(UserName=user, AccessKeyId=old["AccessKeyId"])
        admin.put_secret_value(SecretId=names("a"), SecretString="v2")
        wait_for(lambda: (sync.out / "a").read_text() == "v2", 15, "the rotated secret, read with the new key")
    finally:
        stderr = stop(daemon)
    assert "Roles Anywhere" not in stderr, stderr


def test_refused_credentials_get_a_fix_for_the_source_in_use(sync, admin, names):
    Path(sync.env["AWS_SHARED_CREDENTIALS_FILE"]).write_text("[app]\naws_access_key_id = AKIAUNKNOWN0000000000\naws_secret_access_key = nope\n")
    admin.create_secret(Name=names("a"), SecretString="v1")
    sync.write(f"- id: {names('a')}\n  files:\n    - path: {sync.out}/a\n", auth="auth:\n  profile: app\nregion: us-west-2\n")
    result = sync.once()
    assert result.returncode == 1
    assert "Roles Anywhere" not in result.stderr, result.stderr
    assert "profile 'app'" in result.stderr, result.stderr


def credential_process(sync: Sync, world, expiration) -> Path:
    """A credential_process printing the world admin's keys with `expiration`; it logs each run."""
    d = world.description()
    runs = sync.root / "process-runs"
    document = {"Version": 1, "AccessKeyId": d["admin_access_key_id"], "SecretAccessKey": d["admin_secret_access_key"]}
    if expiration is not None:
        document["Expiration"] = expiration
    script = sync.root / "creds.sh"
    script.write_text(f"#!/bin/sh\necho run >> {runs}\ncat <<'EOF'\n{json.dumps(document)}\nEOF\n")
    script.chmod(0o755)
    Path(sync.env["AWS_CONFIG_FILE"]).write_text(f"[profile app]\ncredential_process = {script}\n")
    return runs


def soon(fmt: str) -> str:
    """Five minutes from now (inside the ten-minute refresh margin) in the given strftime form."""
    return time.strftime(fmt, time.gmtime(time.time() + 300))


@pytest.mark.parametrize("expiration", [
    soon("%Y-%m-%dT%H:%M:%SZ"), soon("%Y-%m-%dT%H:%M:%S.123456Z"), soon("%Y-%m-%d %H:%M:%S+00:00"),
    soon("%Y-%m-%dT%H:%M:%S+0000"), soon("%Y-%m-%dT%H:%M:%S"), soon("%Y-%m-%dT%H:%M:%Sz"),
])
def test_credential_process_expirations_in_every_accepted_form_expire(sync, admin, names, world, expiration):
    """Credentials five minutes from expiry are inside the refresh margin: every pass runs the process again."""
    runs = credential_process(sync, world, expiration)
    one_file(sync, admin, names, sync.out / "a", extra="interval: 1s\n")
    sync.manifest.write_text(sync.manifest.read_text().replace(sync.auth(), "auth:\n  profile: app\nregion: us-west-2\n"))
    notify = Notifications(sync.root)
    daemon = start_daemon(sync, notify)
    try:
        for _ in range(3):
            assert "STATUS=in sync" in notify.next()
    finally:
        stop(daemon)
    assert len(runs.read_text().splitlines()) >= 3


@pytest.mark.parametrize("expiration, message", [
    ("next tuesday", "Expiration 'next tuesday' is not a timestamp"),
    ("2020-01-01 00:00:00+00:00", "expired at 2020-01-01T00:00:00Z"),
    (12345, "Expiration must be a text timestamp"),
])
def test_credential_process_expirations_that_cannot_be_used_are_errors(sync, admin, names, world, expiration, message):
    credential_process(sync, world, expiration)
    one_file(sync, admin, names, sync.out / "a")
    sync.manifest.write_text(sync.manifest.read_text().replace(sync.auth(), "auth:\n  profile: app\nregion: us-west-2\n"))
    result = sync.once()
    assert result.returncode == 1
    assert message in result.stderr, result.stderr
    assert not (sync.out / "a").exists()


# --- deadlines -------------------------------------------------------------------------------


def test_timeout_bounds_the_wait_for_the_lock(sync, admin, names):
    """Row: another process holds the state lock (flock) | `once --timeout` gives up at its deadline with a clear error instead of waiting forever"""
    one_file(sync, admin, names, sync.out / "a")
    sync.state.mkdir()
    holder = subprocess.Popen(["flock", str(sync.state / "lock"), "sh", "-c", "echo locked; exec sleep 60"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        started = time.monotonic()
        result = sync.once("--timeout", "2s")
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1, result.stderr
    assert "another secret-sync run holds the lock" in result.stderr, result.stderr
    assert "--timeout" in result.stderr
    assert elapsed < 10, elapsed


def test_timeout_bounds_a_hook(sync, admin, names):
    one_file(sync, admin, names, sync.out / "a", hooks="  on_change:\n    - sleep 30\n")
    started = time.monotonic()
    result = sync.once("--timeout", "3s")
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert "timed out" in result.stderr
    assert elapsed < 10, elapsed


def test_hook_timeouts_follow_the_monotonic_clock(sync, admin, names):
    """Row: the wall clock runs slow or is stepped while a hook runs (libfaketime: wall clock at a tenth of real speed) | the hook timeout is measured on the monotonic clock and holds"""
    one_file(sync, admin, names, sync.out / "a", hooks="  on_change:\n    - sleep 60\n", extra="hook_timeout: 2s\n")
    env = dict(sync.env, FAKETIME_DONT_FAKE_MONOTONIC="1")
    started = time.monotonic()
    result = subprocess.run(["faketime", "-f", "+0 x0.1", str(sync.binary), "once", "-c", str(sync.manifest)],
                            env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert "hook failed: timed out" in result.stderr, result.stderr
    # On the wall clock a 2 s timeout would take 20 s of real time here.
    assert elapsed < 12, elapsed


def test_a_credential_process_that_hangs_or_floods_stderr(sync, admin, names, world):
    """Row: a credential_process that writes 1 MiB to stderr, or never exits | both pipes are drained together; it is killed at the deadline and reported; exit 1"""
    d = world.description()
    script = sync.root / "noisy.sh"
    document = json.dumps({"Version": 1, "AccessKeyId": d["admin_access_key_id"], "SecretAccessKey": d["admin_secret_access_key"]})
    script.write_text(f"#!/bin/sh\nhead -c 1048576 /dev/zero | tr '\\\\0' x >&2\necho '{document}'\n")
    script.chmod(0o755)
    Path(sync.env["AWS_CONFIG_FILE"]).write_text(f"[profile app]\ncredential_process = {script}\n")
    one_file(sync, admin, names, sync.out / "a")
    sync.manifest.write_text(sync.manifest.read_text().replace(sync.auth(), "auth:\n  profile: app\nregion: us-west-2\n"))
    result = subprocess.run([str(sync.binary), "once", "-c", str(sync.manifest)], env=sync.env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (sync.out / "a").read_text() == "v1"

    script.write_text("#!/bin/sh\nsleep 60\n")
    started = time.monotonic()
    result = sync.once("--timeout", "2s")
    assert result.returncode == 1
    assert time.monotonic() - started < 10
    assert "credential_process" in result.stderr and "timed out" in result.stderr, result.stderr


# --- the process environment secret-sync is started in ---------------------------------------


def test_a_log_reader_that_goes_away_does_not_stop_the_pass(sync, admin, names):
    """Row: the reader of secret-sync's stderr goes away mid-pass (`2>&1 | head -n1`, a restarting journald) | logging drops what cannot be written; the pass completes, the state is saved and hooks run"""
    one_file(sync, admin, names, sync.out / "a", hooks=f"  on_change:\n    - {sync.hook('h')}\n")
    process = subprocess.Popen([str(sync.binary), "once", "-c", str(sync.manifest), "--log-level", "trace"],
                               env=sync.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    process.stderr.readline()
    process.stderr.close()
    assert process.wait(timeout=60) == 0
    assert sync.hook_runs() == ["h a"]
    assert state(sync)["secrets"]["a"]["versionId"]


def test_stderr_closed_at_start(sync, admin, names):
    """With stderr closed, secret-sync's own files must not take descriptor 2: it is /dev/null (seen from a hook)."""
    target = sync.root / "hook-stdout"
    one_file(sync, admin, names, sync.out / "a", hooks=f"  on_change:\n    - readlink /proc/$PPID/fd/2 > {target}\n")
    result = subprocess.run(["sh", "-c", 'exec "$@" 2>&-', "sh", str(sync.binary), "once", "-c", str(sync.manifest)],
                            env=sync.env, stdout=subprocess.PIPE, timeout=60)
    assert result.returncode == 0
    assert (sync.out / "a").read_text() == "v1"
    assert target.read_text().strip() == "/dev/null"


def test_started_with_stdout_and_stderr_closed_no_file_of_ours_takes_their_place(sync, admin, names):
    """Row: secret-sync started with descriptors 1 and 2 closed (`1>&- 2>&-`) | they are opened on /dev/null first, so no lock or log file takes their numbers and no hook's background child inherits the lock"""
    # A duration of its own, so the cleanup below kills this test's sleep and no one else's.
    one_file(sync, admin, names, sync.out / "a", hooks="  on_change:\n    - echo hook output; sleep 30.4217 &\n")
    result = subprocess.run(["sh", "-c", 'exec "$@" 1>&- 2>&-', "sh", str(sync.binary), "once", "-c", str(sync.manifest)],
                            env=sync.env, timeout=60)
    try:
        assert result.returncode == 0
        assert (sync.state / "lock").read_bytes() == b""
        again = sync.once("--timeout", "5s")
        assert again.returncode == 0, again.stderr
    finally:
        subprocess.run(["pkill", "-f", "^sleep 30.4217$"])


def ignore_sigchld():
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)


def test_an_inherited_ignored_sigchld_does_not_fail_hooks(sync, admin, names):
    """Row: secret-sync started with SIGCHLD ignored (or signals blocked) | signal dispositions are reset at start: hooks are waited for, succeed once, and their timeout holds"""
    one_file(sync, admin, names, sync.out / "a", hooks=f"  on_change:\n    - {sync.hook('h')}\n")
    result = subprocess.run([str(sync.binary), "once", "-c", str(sync.manifest)], env=sync.env, capture_output=True, text=True,
                            timeout=60, preexec_fn=ignore_sigchld)
    assert result.returncode == 0, result.stderr
    assert state(sync)["secrets"]["a"]["pendingHooks"] == []
    assert sync.hook_runs() == ["h a"]


def test_hooks_and_run_get_the_inherited_core_limit(sync, admin, names):
    """Row: secret-sync disables its own core dumps | hooks and `run`'s application get the core-file limits secret-sync was started with"""
    limits = sync.root / "limits"
    one_file(sync, admin, names, sync.out / "a", hooks=f"  on_change:\n    - ulimit -S -c > {limits}; ulimit -H -c >> {limits}\n")
    start = 'ulimit -H -c 4000; ulimit -S -c 2000; exec "$@"'
    result = subprocess.run(["sh", "-c", start, "sh", str(sync.binary), "once", "-c", str(sync.manifest)], env=sync.env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert limits.read_text().split() == ["2000", "4000"]

    sync.write(f"- id: {names('a')}\n  env:\n    - name: A\n")
    result = subprocess.run(["sh", "-c", start, "sh", str(sync.binary), "run", "-c", str(sync.manifest), "--", "sh", "-c",
                             "ulimit -S -c; ulimit -H -c"], env=sync.env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2000", "4000"]


def test_core_dumps_are_disabled_in_the_binary(sync, admin, names, shared_dir):
    """Row: a crash while secrets are in memory | no core dump is written: the core limit is 0 and the process is not dumpable (checked as another user, for whom /proc shows the difference)"""
    sync.state.mkdir()
    os.chown(sync.state, NOBODY.pw_uid, NOBODY.pw_gid)
    sync.out.mkdir()
    os.chown(sync.out, NOBODY.pw_uid, NOBODY.pw_gid)
    one_file(sync, admin, names, sync.out / "a", extra="interval: 1h\n")
    key = Path(sync.auth().split("private_key: ")[1].split("\n")[0])
    readable = shared_dir / "client.key"
    readable.write_bytes(key.read_bytes())
    os.chown(readable, NOBODY.pw_uid, NOBODY.pw_gid)
    readable.chmod(0o600)
    sync.manifest.write_text(sync.manifest.read_text().replace(str(key), str(readable)))
    notify = Notifications(sync.root)
    os.chown(sync.root / "notify.sock", NOBODY.pw_uid, NOBODY.pw_gid)
    env = dict(sync.env, NOTIFY_SOCKET=notify.path)
    daemon = subprocess.Popen(["setpriv", f"--reuid={NOBODY.pw_uid}", f"--regid={NOBODY.pw_gid}", "--clear-groups",
                               str(sync.binary), "daemon", "-c", str(sync.manifest)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert notify.next().startswith("READY=1\nSTATUS=in sync"), "the daemon did not sync as nobody"
        limits = Path(f"/proc/{daemon.pid}/limits").read_text()
        assert next(line for line in limits.splitlines() if line.startswith("Max core file size")).split()[4] == "0"
        # A dumpable process's /proc/PID/environ belongs to its user; a non-dumpable one's to root.
        assert Path(f"/proc/{daemon.pid}/environ").stat().st_uid == 0
    finally:
        daemon.terminate()
        daemon.wait(timeout=20)


# --- output channels ---------------------------------------------------------------------------


def test_validate_reports_problems_on_stderr(sync, names, world):
    sync.write(f"- id: {names('x')}\n  files:\n    - path: {sync.out}/x\n",
               auth=sync.auth().replace(str(world.pki / "clients" / "chained" / "ec-p256-sec1.crt"),
                                        str(world.pki / "clients" / "direct" / "rsa2048-pkcs1.crt")))
    result = run(sync.binary, ["validate", "-c", str(sync.manifest)], sync.env)
    assert result.returncode == 1
    assert "problem:" in result.stderr and "does not match" in result.stderr, result.stderr
    assert "problem:" not in result.stdout


def test_json_logs_carry_the_errors_stable_code(sync, admin, names):
    sync.write(f"- id: {names('missing')}\n  files:\n    - path: {sync.out}/missing\n")
    result = sync.once("--log-format", "json")
    assert result.returncode == 1
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    failed = next(event for event in events if event.get("secret") == names("missing"))
    assert failed["level"] == "error" and failed["code"] == "ResourceNotFoundException", failed
    assert "fix" in failed
