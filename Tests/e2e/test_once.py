"""`secret-sync once` against the local world: files, owners, modes, rotation, drift, hooks, failures."""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import grp
import subprocess
import time
from pathlib import Path

import pytest

from support import DB, DB_TEXT, Sync, ok, read_until


def test_every_format(sync, admin, names):
    admin.create_secret(Name=names("db"), SecretString=DB_TEXT)
    admin.create_secret(Name=names("text"), SecretString="no trailing newline")
    admin.create_secret(Name=names("blob"), SecretBinary=bytes([0, 1, 2, 255, 10]))
    template_file = sync.root / "db.tmpl"
    template_file.write_text("host=db\nuser={{username}}\n")
    sync.write(f"""\
        - id: {names("db")}
          name: db
          files:
            - path: {sync.out}/password
              key: password
            - path: {sync.out}/port
              key: port
            - path: {sync.out}/ratio
              key: ratio
            - path: {sync.out}/nested
              key: nested
            - path: {sync.out}/db.json
              format: json
            - path: {sync.out}/db.env
              format: dotenv
            - path: {sync.out}/inline.conf
              template: "user={{{{username}}}} port={{{{ port }}}}"
            - path: {sync.out}/file.conf
              template_file: {template_file}
        - id: {names("text")}
          files:
            - path: {sync.out}/text
        - id: {names("blob")}
          files:
            - path: {sync.out}/blob
        """)
    ok(sync.once())
    read = lambda name: (sync.out / name).read_bytes()
    assert read("password") == DB["password"].encode()
    assert read("port") == b"5432"
    assert read("ratio") == b"1.50"
    assert read("nested") == b'{"a":1}'
    assert read("db.json") == DB_TEXT.encode()
    assert read("inline.conf") == b"user=app port=5432"
    assert read("file.conf") == b"host=db\nuser=app\n"
    assert read("text") == b"no trailing newline"
    assert read("blob") == bytes([0, 1, 2, 255, 10])
    # The dotenv file reads back exactly in a shell.
    shell = subprocess.run(["sh", "-c", f'set -a; . {sync.out}/db.env; printf "%s|%s|%s" "$username" "$password" "$port"'],
                           capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert shell.stdout == f"app|{DB['password']}|5432"
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in sync.out.iterdir())


def test_owners_and_modes_with_real_users(sync, admin, names):
    admin.create_secret(Name=names("db"), SecretString=DB_TEXT)
    sync.write(f"""\
        - id: {names("db")}
          files:
            - path: {sync.out}/by-nobody
              key: password
              owner: nobody
              group: nogroup
              mode: "0440"
            - path: {sync.out}/group-readable
              key: password
              group: nogroup
              mode: 0640
        """, extra="defaults:\n  mode: \"0600\"\n  owner: root\n  group: root\n")
    ok(sync.once())
    first = (sync.out / "by-nobody").stat()
    assert (first.st_uid, first.st_gid, first.st_mode & 0o7777) == (pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid, 0o440)
    second = (sync.out / "group-readable").stat()
    assert (second.st_uid, second.st_gid, second.st_mode & 0o7777) == (0, grp.getgrnam("nogroup").gr_gid, 0o640)
    # nobody can read its file, and the group file through its group only.
    read = subprocess.run(["setpriv", f"--reuid={first.st_uid}", f"--regid={first.st_gid}", "--clear-groups", "cat", str(sync.out / "by-nobody")],
                          capture_output=True)
    assert read.returncode == 0 and read.stdout == DB["password"].encode()


def test_second_pass_writes_nothing_and_runs_no_hook(sync, admin, names):
    admin.create_secret(Name=names("db"), SecretString=DB_TEXT)
    sync.write(f"""\
        - id: {names("db")}
          name: db
          files:
            - path: {sync.out}/password
              key: password
            - path: {sync.out}/db.env
              format: dotenv
          on_change:
            - {sync.hook("db")}
        """)
    ok(sync.once())
    assert sync.hook_runs() == ["db db"]  # creating files counts as a change
    before = sync.snapshot()
    second = sync.once()
    ok(second)
    assert sync.snapshot() == before  # same inodes, same mtimes: nothing rewritten
    assert sync.hook_runs() == ["db db"]
    assert "files_written=0 hooks_run=0" in second.stderr
    assert "created" not in second.stderr and "updated" not in second.stderr


def test_rotation_rewrites_the_file_and_runs_its_hook_once(sync, admin, names):
    admin.create_secret(Name=names("db"), SecretString=DB_TEXT)
    admin.create_secret(Name=names("api"), SecretString="token-1")
    shared = sync.hook("shared")
    sync.write(f"""\
        - id: {names("db")}
          name: db
          files:
            - path: {sync.out}/password
              key: password
            - path: {sync.out}/user
              key: username
          on_change:
            - {shared}
            - {sync.hook("db-only")}
        - id: {names("api")}
          name: api
          files:
            - path: {sync.out}/token
          on_change:
            - {shared}
        """)
    ok(sync.once())
    assert sync.hook_runs() == ["shared db api", "db-only db"]  # one run per distinct command
    before = sync.snapshot()
    admin.put_secret_value(SecretId=names("db"), SecretString=json.dumps({**DB, "password": "rotated"}))
    result = sync.once()
    ok(result)
    after = sync.snapshot()
    assert (sync.out / "password").read_text() == "rotated"
    assert after["password"] != before["password"]
    assert after["user"] == before["user"] and after["token"] == before["token"]  # unchanged bytes are not rewritten
    assert sync.hook_runs()[2:] == ["shared db", "db-only db"]


def test_new_version_with_identical_bytes_runs_hooks_without_a_write(sync, admin, names):
    admin.create_secret(Name=names("api"), SecretString="same")
    sync.write(f"""\
        - id: {names("api")}
          name: api
          files:
            - path: {sync.out}/token
          on_change:
            - {sync.hook("api")}
        """)
    ok(sync.once())
    before = sync.snapshot()
    admin.put_secret_value(SecretId=names("api"), SecretString="same")
    ok(sync.once())
    assert sync.snapshot() == before
    assert sync.hook_runs() == ["api api", "api api"]


def test_drift_is_repaired(sync, admin, names):
    admin.create_secret(Name=names("db"), SecretString=DB_TEXT)
    sync.write(f"""\
        - id: {names("db")}
          name: db
          files:
            - path: {sync.out}/deleted
              key: password
            - path: {sync.out}/edited
              key: username
            - path: {sync.out}/chmodded
              key: port
              mode: "0600"
          on_change:
            - {sync.hook("db")}
        """)
    ok(sync.once())
    (sync.out / "deleted").unlink()
    (sync.out / "edited").write_text("tampered")
    (sync.out / "chmodded").chmod(0o666)
    result = sync.once()
    ok(result)
    assert (sync.out / "deleted").read_bytes() == DB["password"].encode()
    assert (sync.out / "edited").read_text() == "app"
    assert (sync.out / "chmodded").stat().st_mode & 0o777 == 0o600
    for verb, name in [("created", "deleted"), ("updated", "edited"), ("repaired", "chmodded")]:
        assert f"notice: {verb} {sync.out / name} " in result.stderr
    assert sync.hook_runs() == ["db db", "db db"]


def test_a_missing_secret_leaves_the_others_written_and_exits_1(sync, admin, names):
    admin.create_secret(Name=names("good"), SecretString="good")
    sync.write(f"""\
        - id: {names("missing")}
          name: missing
          files:
            - path: {sync.out}/missing
        - id: {names("good")}
          name: good
          files:
            - path: {sync.out}/good
        """)
    result = sync.once()
    assert result.returncode == 1
    assert (sync.out / "good").read_text() == "good"
    assert not (sync.out / "missing").exists()
    # Both secrets went in one BatchGetSecretValue; the missing one failed alone.
    assert f"Secrets Manager refused BatchGetSecretValue for {names('missing')}: ResourceNotFoundException" in result.stderr
    assert "secret-sync: error: pass incomplete: 1 of 2 secrets failed (missing); the last good files were kept" in result.stderr
    state = json.loads((sync.state / "state.json").read_text())
    assert "ResourceNotFoundException" in state["secrets"]["missing"]["lastError"]
    assert state["secrets"]["good"]["lastError"] is None if "lastError" in state["secrets"]["good"] else True


def test_a_failed_fetch_keeps_the_last_good_file(binary, world, clean_env, shared_dir, admin, names):
    admin.create_secret(Name=names("db"), SecretString="v1")
    good = Sync(binary, world, clean_env, shared_dir)
    secrets = f"""\
        - id: {names("db")}
          files:
            - path: {good.out}/db
        """
    good.write(secrets)
    ok(good.once())
    admin.put_secret_value(SecretId=names("db"), SecretString="v2")
    denied = Sync(binary, world, clean_env, shared_dir, role=world.description()["no_secrets_role_arn"])
    denied.write(secrets)
    result = denied.once()
    assert result.returncode == 1
    assert "GetSecretValue for " + names("db") + ": AccessDenied" in result.stderr  # moto answers in XML form (TESTING-NOTES 4)
    assert "fix=\"allow secretsmanager:GetSecretValue" in result.stderr
    assert (good.out / "db").read_text() == "v1"


def test_a_missing_field_is_an_error_never_an_empty_file(sync, admin, names):
    admin.create_secret(Name=names("db"), SecretString=DB_TEXT)
    sync.write(f"""\
        - id: {names("db")}
          name: db
          files:
            - path: {sync.out}/a
              key: username
            - path: {sync.out}/b
              key: pasword
        """)
    result = sync.once()
    assert result.returncode == 1
    assert "field 'pasword' is missing from the secret (fields present: username, password, port, ratio, nested)" in result.stderr
    assert not sync.out.exists() or list(sync.out.iterdir()) == []  # a secret's files are written together or not at all


def test_a_failed_hook_is_retried_until_it_succeeds(sync, admin, names):
    admin.create_secret(Name=names("api"), SecretString="t")
    marker = sync.root / "may-succeed"
    sync.write(f"""\
        - id: {names("api")}
          name: api
          files:
            - path: {sync.out}/token
          on_change:
            - test -f {marker} && {sync.hook("api")}
        """)
    result = sync.once()
    assert result.returncode == 1
    assert "hook failed: exit status 1; it will run again on the next pass" in result.stderr
    state = json.loads((sync.state / "state.json").read_text())
    assert state["secrets"]["api"]["pendingHooks"] == [{"shell": f"test -f {marker} && {sync.hook('api')}"}]
    assert sync.once().returncode == 1  # nothing changed, the hook is still owed and still fails
    marker.touch()
    ok(sync.once())
    assert sync.hook_runs() == ["api api"]
    ok(sync.once())
    assert sync.hook_runs() == ["api api"]  # paid up: not run again


def test_a_hook_that_hangs_is_killed_at_the_timeout(sync, admin, names):
    admin.create_secret(Name=names("api"), SecretString="t")
    sync.write(f"""\
        - id: {names("api")}
          files:
            - path: {sync.out}/token
          on_change:
            - sleep 60
        """, extra="hook_timeout: 1s\n")
    started = time.monotonic()
    result = sync.once()
    assert result.returncode == 1
    assert time.monotonic() - started < 20
    assert "hook failed: timed out (killed with its process group)" in result.stderr


def alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie waiting for its new parent to reap it does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("escape", [
    "setsid, its parent still running",
    "setsid, its parent gone (reparented to init)",
    "setsid, ignoring SIGTERM",
])
def test_a_hooks_descendants_that_left_its_process_group_die_at_its_timeout(sync, admin, names, escape):
    """Row: a hook that times out after starting a descendant in a session of its own (`setsid sleep &`), orphaned or ignoring SIGTERM | the descendants die with the hook: everything started with the hook's run mark in its environment is killed, not only its process group"""
    admin.create_secret(Name=names("api"), SecretString="t")
    pidfile = sync.root / "escaped.pid"
    stray = f"setsid sh -c 'echo $$ > {pidfile}; exec sleep 300'"
    hook = {
        "setsid, its parent still running": f"{stray} & sleep 60",
        "setsid, its parent gone (reparented to init)": f"({stray} &); sleep 60",
        "setsid, ignoring SIGTERM": f"trap '' TERM; {stray} & sleep 60",
    }[escape]
    sync.write(f"""\
        - id: {names("api")}
          files:
            - path: {sync.out}/token
          on_change:
            - {json.dumps(hook)}
        """, extra="hook_timeout: 1s\n")
    result = sync.once()
    assert result.returncode == 1 and "hook failed: timed out" in result.stderr, result.stderr
    pid = int(pidfile.read_text())
    try:
        assert not alive(pid), f"the escaped descendant {pid} still runs"
    finally:
        if alive(pid):
            os.kill(pid, 9)


def test_dry_run_shows_the_plan_and_touches_nothing(sync, admin, names):
    admin.create_secret(Name=names("db"), SecretString=DB_TEXT)
    sync.write(f"""\
        - id: {names("db")}
          name: db
          files:
            - path: {sync.out}/password
              key: password
              mode: "0640"
          on_change:
            - {sync.hook("db")}
        """)
    result = sync.once("--dry-run")
    ok(result)
    assert f"  would create {sync.out}/password (root:root 0640)" in result.stdout
    assert f"would run: {sync.hook('db')}  (for db)" in result.stdout
    assert DB["password"] not in result.stdout + result.stderr
    assert not sync.out.exists() and not sync.state.exists() and not sync.hook_log.exists()
    ok(sync.once())
    assert sync.once("--dry-run").stdout.endswith("everything is in sync\n")


def test_no_secret_value_in_logs_state_or_hook_environment(sync, admin, names):
    admin.create_secret(Name=names("db"), SecretString=DB_TEXT)
    env_dump = sync.root / "hook-env"
    sync.write(f"""\
        - id: {names("db")}
          name: db
          files:
            - path: {sync.out}/password
              key: password
            - path: {sync.out}/all.env
              format: dotenv
          on_change:
            - env > {env_dump}
        """)
    result = sync.once("--log-level", "trace")
    ok(result)
    admin.put_secret_value(SecretId=names("db"), SecretString=json.dumps({**DB, "password": "second-secret-value"}))
    second = sync.once("--log-level", "trace", "--log-format", "json")
    ok(second)
    everything = result.stdout + result.stderr + second.stdout + second.stderr + (sync.state / "state.json").read_text() + env_dump.read_text()
    for value in (DB["password"], "second-secret-value"):
        assert value not in everything
    assert "debug: CreateSession" in result.stderr  # the trace run did log in detail
    hook_env = dict(line.split("=", 1) for line in env_dump.read_text().splitlines() if "=" in line)
    assert hook_env["SECRET_SYNC_CHANGED"] == "db"
    assert (sync.state / "state.json").stat().st_mode & 0o777 == 0o600


def test_an_invalid_manifest_exits_2_and_touches_nothing(sync):
    sync.write(f"""\
        - id: whatever
          files:
            - path: {sync.out}/x
              mode: "0999"
        """)
    result = sync.once()
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"secret-sync: error: invalid manifest {sync.manifest} (1 problem; nothing was changed)" in result.stderr
    assert f"{sync.manifest}:15:15: secrets[0].files[0].mode: '0999' is not an octal file mode" in result.stderr
    assert not sync.state.exists() and not sync.out.exists()


def test_a_symlink_at_the_destination_is_refused(sync, admin, names):
    admin.create_secret(Name=names("db"), SecretString=DB_TEXT)
    victim = sync.root / "victim"
    victim.write_text("untouched")
    sync.out.mkdir()
    (sync.out / "link").symlink_to(victim)
    sync.write(f"""\
        - id: {names("db")}
          name: db
          files:
            - path: {sync.out}/link
              key: password
        - id: {names("db")}
          name: other
          files:
            - path: {sync.out}/other
              key: username
        """)
    result = sync.once()
    assert result.returncode == 1
    assert f"refusing to write {sync.out}/link: it is a symbolic link, which secret-sync never follows" in result.stderr
    assert victim.read_text() == "untouched"
    assert (sync.out / "other").read_text() == "app"


def test_concurrent_runs_are_serialised_by_the_lock(sync, admin, names):
    admin.create_secret(Name=names("api"), SecretString="t")
    sync.write(f"""\
        - id: {names("api")}
          files:
            - path: {sync.out}/token
        """)
    sync.state.mkdir(mode=0o700)
    with open(sync.state / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        process = subprocess.Popen([str(sync.binary), "once", "-c", str(sync.manifest)], env=sync.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        waited = read_until(process.stderr, "another secret-sync run holds the lock; waiting", 30)
        assert process.poll() is None  # waiting for the lock
        assert not (sync.out / "token").exists()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, waited + stderr
    assert (sync.out / "token").read_text() == "t"


def test_environment_credentials_and_hooks_do_not_inherit_them(sync, admin, names, world):
    admin.create_secret(Name=names("api"), SecretString="t")
    d = world.description()
    sync.env.update(AWS_ACCESS_KEY_ID=d["admin_access_key_id"], AWS_SECRET_ACCESS_KEY=d["admin_secret_access_key"])
    env_dump = sync.root / "hook-env"
    sync.write(f"""\
        - id: {names("api")}
          files:
            - path: {sync.out}/token
          on_change:
            - env > {env_dump}
        """, auth="auth:\n  environment: true\nregion: us-west-2\n")
    ok(sync.once())
    assert (sync.out / "token").read_text() == "t"
    assert "AWS_SECRET_ACCESS_KEY" not in env_dump.read_text()
    assert d["admin_secret_access_key"] not in env_dump.read_text()


def test_profile_with_credential_process(sync, admin, names, world):
    admin.create_secret(Name=names("api"), SecretString="t")
    d, pki = world.description(), world.pki / "clients"
    Path(sync.env["AWS_CONFIG_FILE"]).write_text(
        f"[profile commercial]\ncredential_process = {sync.binary} credential-process --certificate {pki / 'direct' / 'rsa2048-pkcs1.crt'}"
        f" --private-key {pki / 'rsa2048-pkcs1.key'} --trust-anchor-arn {d['trust_anchor_arn']} --profile-arn {d['profile_arn']} --role-arn {d['role_arn']}\n")
    sync.write(f"""\
        - id: {names("api")}
          files:
            - path: {sync.out}/token
        """, auth="auth:\n  profile: commercial\nregion: us-west-2\n")
    ok(sync.once())
    assert (sync.out / "token").read_text() == "t"


def test_version_id_pins_a_version_and_one_session_serves_the_pass(sync, admin, names, emulator):
    first = admin.create_secret(Name=names("pinned"), SecretString="v1")["VersionId"]
    admin.put_secret_value(SecretId=names("pinned"), SecretString="v2")
    admin.create_secret(Name=names("current"), SecretString="c")
    sync.write(f"""\
        - id: {names("pinned")}
          version_id: {first}
          files:
            - path: {sync.out}/pinned
        - id: {names("pinned")}
          name: latest
          files:
            - path: {sync.out}/latest
        - id: {names("current")}
          files:
            - path: {sync.out}/current
        """)
    ok(sync.once())
    assert (sync.out / "pinned").read_text() == "v1"
    assert (sync.out / "latest").read_text() == "v2"
    assert [r["status"] for r in emulator.requests()] == [201]  # one CreateSession for the whole pass


def api_calls(sync: Sync) -> int:
    return json.loads((sync.state / "state.json").read_text())["lastPass"]["apiCalls"]


def test_many_secrets_cost_one_batch_call_per_20(sync, admin, names):
    ids = [names(f"s{i:02d}") for i in range(45)]
    for i, name in enumerate(ids):
        admin.create_secret(Name=name, SecretString=f"value-{i}")
    sync.write("".join(f"- id: {name}\n  files:\n    - path: {sync.out}/s{i:02d}\n" for i, name in enumerate(ids)))
    result = sync.once("--log-level", "info")
    ok(result)
    assert all((sync.out / f"s{i:02d}").read_text() == f"value-{i}" for i in range(45))
    assert api_calls(sync) == 1 + 3  # CreateSession, then BatchGetSecretValue for 20 + 20 + 5
    assert "info: API calls this pass calls=4" in result.stderr


def test_without_batch_permission_it_falls_back_to_single_reads_and_remembers(binary, world, clean_env, shared_dir, admin, names):
    sync = Sync(binary, world, clean_env, shared_dir, role=world.description()["single_reads_role_arn"])
    ids = [names(f"s{i}") for i in range(3)]
    for i, name in enumerate(ids):
        admin.create_secret(Name=name, SecretString=f"value-{i}")
    sync.write("".join(f"- id: {name}\n  files:\n    - path: {sync.out}/s{i}\n" for i, name in enumerate(ids)))
    result = sync.once()
    ok(result)
    assert [(sync.out / f"s{i}").read_text() for i in range(3)] == ["value-0", "value-1", "value-2"]
    assert "notice: BatchGetSecretValue is not allowed for this role; fetching secrets one by one from now on" in result.stderr
    assert api_calls(sync) == 1 + 1 + 3  # CreateSession, the refused batch, three GetSecretValue


def test_hooks_inherit_no_connection_or_setting_of_secret_sync(sync, admin, names):
    admin.create_secret(Name=names("api"), SecretString="token-1")
    listing, environment = sync.root / "fds.txt", sync.root / "env.txt"
    sync.write(f"""\
        - id: {names("api")}
          files:
            - path: {sync.out}/token
          on_change:
            - ls -l /proc/self/fd/ > {listing}; env > {environment}
        """)
    ok(sync.once())
    text = listing.read_text()
    assert "/dev/null" in text  # the hook's stdin: the listing did run
    assert "socket:" not in text and "tss2" not in text, text
    # secret-sync's own TSS library log settings stay in secret-sync.
    assert "PATH=" in environment.read_text() and "TSS2_" not in environment.read_text()
