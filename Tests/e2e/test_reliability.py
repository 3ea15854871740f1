"""Faults, crashes and hostile input: nothing lost, nothing leaked.

Every test here starts its docstring with `Row: FAULT | WHAT SECRET-SYNC DOES`; scripts/reliability-table.py
turns them into docs/RELIABILITY.md, and test_the_reliability_table_is_current keeps the two in step.
"""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest

from conftest import REPO
from support import Notifications, start_daemon, stop, two_secrets, wait_for

sys.path.insert(0, str(REPO))

CRASH_ITERATIONS = int(os.environ.get("SECRET_SYNC_CRASH_ITERATIONS", "40"))


def rotate_and_fail(sync, admin, names, faults, injected, expected_in_stderr):
    """A good sync, a rotation, then a pass that meets `injected`: old files stay, exit 1."""
    two_secrets(sync, admin, names)
    assert sync.once().returncode == 0
    admin.put_secret_value(SecretId=names("a"), SecretString="a-v2")
    admin.put_secret_value(SecretId=names("b"), SecretString="b-v2")
    faults.inject(injected)
    started = time.monotonic()
    result = sync.once()
    assert result.returncode == 1, result.stderr
    assert expected_in_stderr in result.stderr, result.stderr
    assert time.monotonic() - started < 30
    assert (sync.out / "a").read_text() == "a-v1" and (sync.out / "b").read_text() == "b-v1"
    assert sorted(p.name for p in sync.out.iterdir()) == ["a", "b"]
    return result


def test_server_errors_are_retried_then_succeed(sync, admin, names, faults):
    """Row: Secrets Manager answers 503 or 500, then recovers | retried with jittered backoff (up to 4 attempts); the pass succeeds"""
    two_secrets(sync, admin, names)
    faults.inject(["status:503", "status:500"])
    result = sync.once()
    assert result.returncode == 0, result.stderr
    assert faults.requests == ["status:503", "status:500", "pass"]
    assert result.stderr.count("BatchGetSecretValue failed, retrying") == 2
    assert (sync.out / "a").read_text() == "a-v1"


def test_throttling_is_retried(sync, admin, names, faults):
    """Row: ThrottlingException | a throttled BatchGetSecretValue is not retried: its secrets are read with GetSecretValue (100x the quota) in the same pass, and a throttled single read is retried with backoff; the pass succeeds"""
    two_secrets(sync, admin, names)
    faults.inject(["throttle", "throttle"])
    result = sync.once()
    assert result.returncode == 0, result.stderr
    # The batch, throttled once; then the two single reads, the first throttled once and retried.
    assert faults.requests == ["throttle", "throttle", "pass", "pass"]
    assert "BatchGetSecretValue is throttled; reading its secrets with GetSecretValue" in result.stderr
    assert result.stderr.count("BatchGetSecretValue failed, retrying") == 0


def test_persistent_server_errors_give_up_and_keep_files(sync, admin, names, faults):
    """Row: Secrets Manager keeps answering 503 | gives up after 4 attempts; last good files kept; exit 1"""
    rotate_and_fail(sync, admin, names, faults, ["status:503"] * 4, "ServiceUnavailable: injected (HTTP 503")
    assert faults.requests == ["status:503"] * 4


def test_connection_reset(sync, admin, names, faults):
    """Row: connection reset mid-request | retried; once the retries are spent, last good files kept; exit 1"""
    rotate_and_fail(sync, admin, names, faults, ["reset"] * 4, "cannot reach Secrets Manager")


def test_truncated_answer(sync, admin, names, faults):
    """Row: answer cut short (Content-Length not reached) | treated as a transport failure and retried; files kept; exit 1"""
    rotate_and_fail(sync, admin, names, faults, ["truncate"] * 4, "cannot reach Secrets Manager")


def test_malformed_json(sync, admin, names, faults):
    """Row: 200 with malformed JSON | 'not the documented JSON', with the endpoint to check; files kept; exit 1"""
    rotate_and_fail(sync, admin, names, faults, ["garbage"], "unexpected BatchGetSecretValue answer for 2 secrets: not the documented JSON")


def test_html_from_a_captive_portal(sync, admin, names, faults):
    """Row: 200 text/html (captive portal, wrong endpoint) | refused as not the documented JSON; files kept; exit 1"""
    rotate_and_fail(sync, admin, names, faults, ["html"], "unexpected BatchGetSecretValue answer for 2 secrets: not the documented JSON")


def test_slow_answer_meets_the_deadline(sync, admin, names, faults):
    """Row: answer slower than --timeout | the request is cut at the deadline; files kept; exit 1"""
    two_secrets(sync, admin, names)
    assert sync.once().returncode == 0
    faults.inject(["slow:10"])
    started = time.monotonic()
    result = sync.once("--timeout", "2s")
    assert result.returncode == 1
    assert time.monotonic() - started < 6
    assert (sync.out / "a").read_text() == "a-v1"


def test_dns_failure(sync, admin, names):
    """Row: DNS failure | not retried; 'cannot resolve' with the host and a fix; files kept; exit 1"""
    two_secrets(sync, admin, names)
    assert sync.once().returncode == 0
    sync.env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = "https://secretsmanager.invalid"
    result = sync.once()
    assert result.returncode == 1
    assert "cannot resolve secretsmanager.invalid" in result.stderr
    assert (sync.out / "a").read_text() == "a-v1"


def test_untrusted_tls_certificate(sync, admin, names, world):
    """Row: TLS certificate the CA bundle does not trust | refused (never sent unverified); fix names AWS_CA_BUNDLE; exit 1"""
    two_secrets(sync, admin, names)
    assert sync.once().returncode == 0
    sync.env["AWS_CA_BUNDLE"] = str(world.pki / "ca" / "untrusted-ca.crt")
    result = sync.once()
    assert result.returncode == 1
    assert "TLS with 127.0.0.1 failed" in result.stderr and "AWS_CA_BUNDLE" in result.stderr


def test_kill_9_at_random_instants(sync, admin, names):
    """Row: kill -9 at random instants during passes that write many files | every file is always the old or the new content, whole, with its final owner and mode; the next pass cleans up temporary files"""
    # 30 values of 2,000 bytes: the secret stays within Secrets Manager's 65,536 bytes.
    values = [{f"k{i}": (tag * 2000) + str(i) for i in range(30)} for tag in ("A", "B")]
    admin.create_secret(Name=names("big"), SecretString=json.dumps(values[0]))
    files = "".join(f"    - path: {sync.out}/f{i:02d}\n      key: k{i}\n      owner: nobody\n      group: nogroup\n      mode: \"0640\"\n" for i in range(30))
    sync.write(f"- id: {names('big')}\n  files:\n{files}")
    assert sync.once().returncode == 0
    nobody = (65534, 65534)
    problems = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            for i in range(30):
                path = sync.out / f"f{i:02d}"
                try:
                    content = path.read_text()
                    info = path.stat()
                except FileNotFoundError:
                    problems.append(f"{path.name} vanished")
                    continue
                if content not in (values[0][f"k{i}"], values[1][f"k{i}"]):
                    problems.append(f"{path.name} has {len(content)} bytes of mixed or partial content")
                if (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) != (*nobody, 0o640):
                    problems.append(f"{path.name} has owner {info.st_uid}:{info.st_gid} mode {oct(stat.S_IMODE(info.st_mode))}")

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    rng = random.Random(20261129)
    try:
        for iteration in range(CRASH_ITERATIONS):
            admin.put_secret_value(SecretId=names("big"), SecretString=json.dumps(values[(iteration + 1) % 2]))
            process = subprocess.Popen([str(sync.binary), "once", "-c", str(sync.manifest)], env=sync.env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.0, 0.25))
            process.send_signal(signal.SIGKILL)
            process.wait()
    finally:
        stop.set()
        thread.join()
    assert problems == [], problems[:5]
    assert sync.once().returncode == 0
    assert not [p.name for p in sync.out.iterdir() if p.name.startswith(".")], "temporary files left after a clean pass"


@pytest.fixture
def small_filesystem(shared_dir):
    mountpoint = shared_dir / "small"
    mountpoint.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", str(mountpoint)], capture_output=True, text=True)
    assert mounted.returncode == 0, f"these tests need root to mount a tmpfs: {mounted.stderr}"
    yield mountpoint
    subprocess.run(["umount", str(mountpoint)], check=False)


def test_disk_full(sync, admin, names, small_filesystem):
    """Row: disk full (ENOSPC) | clear error with the path and a fix; the old file intact; no temporary file left; exit 1"""
    admin.create_secret(Name=names("grow"), SecretString="small")
    sync.write(f"- id: {names('grow')}\n  files:\n    - path: {small_filesystem}/secret\n")
    assert sync.once().returncode == 0
    admin.put_secret_value(SecretId=names("grow"), SecretString="x" * 60000)
    (small_filesystem / "filler").write_bytes(b"0" * 20000)
    result = sync.once()
    assert result.returncode == 1
    assert "No space left on device" in result.stderr or "no space left on device" in result.stderr
    assert "free space on that file system; the previous file was kept" in result.stderr
    assert (small_filesystem / "secret").read_text() == "small"
    assert sorted(p.name for p in small_filesystem.iterdir()) == ["filler", "secret"]


def test_read_only_destination(sync, admin, names, small_filesystem):
    """Row: read-only destination (EROFS) | clear error and fix; the old file intact; exit 1"""
    admin.create_secret(Name=names("ro"), SecretString="v1")
    sync.write(f"- id: {names('ro')}\n  files:\n    - path: {small_filesystem}/secret\n")
    assert sync.once().returncode == 0
    admin.put_secret_value(SecretId=names("ro"), SecretString="v2")
    subprocess.run(["mount", "-o", "remount,ro", str(small_filesystem)], check=True)
    result = sync.once()
    assert result.returncode == 1
    assert "read-only file system" in result.stderr and "the file system is read-only; choose a writable path" in result.stderr
    assert (small_filesystem / "secret").read_text() == "v1"


def test_dotenv_injection_is_refused(sync, admin, names):
    """Row: secret JSON whose field names would inject lines into dotenv output | refused, naming the field; values are quoted so they cannot inject"""
    admin.create_secret(Name=names("evil"), SecretString=json.dumps({"OK": "x\nEVIL=1", "BAD\nEVIL": "y"}))
    sync.write(f"- id: {names('evil')}\n  files:\n    - path: {sync.out}/env\n      format: dotenv\n")
    result = sync.once()
    assert result.returncode == 1
    assert "field 'BAD\\nEVIL' is not a valid environment variable name" in result.stderr
    assert not (sync.out / "env").exists()


def test_the_reliability_table_is_current():
    """The document is generated from this file's Row: lines; it must not drift."""
    generated = subprocess.run([sys.executable, str(REPO / "scripts" / "reliability-table.py"), "--check"], capture_output=True, text=True)
    assert generated.returncode == 0, generated.stdout + generated.stderr


def test_oversized_answer_is_refused(sync, admin, names, faults):
    """Row: an answer larger than the 16 MiB cap | refused without buffering it; files kept; exit 1"""
    rotate_and_fail(sync, admin, names, faults, ["huge"], "is larger than 16777216 bytes; refused")


def test_the_daemon_keeps_going_through_faults(sync, admin, names, faults):
    """Row: Secrets Manager failing while the daemon runs | each pass fails and is logged, the daemon keeps running and backs off, then catches up when the service recovers"""
    admin.create_secret(Name=names("a"), SecretString="v1")
    sync.write(f"- id: {names('a')}\n  files:\n    - path: {sync.out}/a\n", extra="interval: 1s\n")
    notify = Notifications(sync.root)
    daemon = start_daemon(sync, notify)
    try:
        assert notify.passes(1)[0].startswith("in sync")
        admin.put_secret_value(SecretId=names("a"), SecretString="v2")
        faults.inject(["status:503"] * 12)
        # 12 faults are 3 passes of 4 attempts each: all fail, and the daemon keeps going.
        assert all(status.startswith("pass incomplete") for status in notify.passes(3))
        assert daemon.poll() is None
        assert (sync.out / "a").read_text() == "v1"
        wait_for(lambda: (sync.out / "a").read_text() == "v2", 20, "the catch-up after the service recovered")
    finally:
        stderr = stop(daemon)
    assert daemon.returncode == 0
    assert "pass incomplete" in stderr and "ServiceUnavailable" in stderr


def test_directories_writable_by_others_are_reported(sync, admin, names):
    """Row: a destination directory writable by other users | a warning with the fix on every pass and in validate"""
    admin.create_secret(Name=names("a"), SecretString="v")
    sync.out.mkdir()
    sync.out.chmod(0o777)
    sync.write(f"- id: {names('a')}\n  files:\n    - path: {sync.out}/a\n")
    result = sync.once()
    assert result.returncode == 0
    assert f"warning: destination directory {sync.out} is writable by other users" in result.stderr
    validate = subprocess.run([str(sync.binary), "validate", "-c", str(sync.manifest)], env=sync.env, capture_output=True, text=True)
    assert f"warning: destination directory {sync.out} is writable by other users" in validate.stderr
    sync.out.chmod(0o1777)  # the sticky bit keeps others from replacing what they do not own
    assert "writable by other users" not in sync.once().stderr


def test_a_directory_swapped_for_a_symlink_is_not_followed(sync, admin, names):
    """Row: a destination directory replaced by a symlink in a directory other users can write | refused (the path is walked with O_NOFOLLOW and the file written relative to the directory reached); the link's target is untouched; exit 1"""
    admin.create_secret(Name=names("a"), SecretString="secret")
    shared = sync.root / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # anyone may write here, and so plant a link
    victim = sync.root / "victim"
    victim.mkdir()
    (shared / "app").symlink_to(victim)
    sync.write(f"- id: {names('a')}\n  files:\n    - path: {shared}/app/secret\n")
    result = sync.once()
    assert result.returncode == 1
    assert f"refusing {shared}/app/secret: {shared}/app is a symbolic link in a directory writable by other users" in result.stderr
    assert list(victim.iterdir()) == []


def test_a_symlink_root_controls_is_followed(sync, admin, names):
    """Row: a symlink along the path in a directory only its owner can write (e.g. /var/run -> /run) | followed, as the administrator meant"""
    admin.create_secret(Name=names("a"), SecretString="secret")
    real = sync.root / "real"
    real.mkdir()
    (sync.root / "alias").symlink_to(real)  # sync.root is 0755 root
    sync.write(f"- id: {names('a')}\n  files:\n    - path: {sync.root}/alias/sub/secret\n")
    result = sync.once()
    assert result.returncode == 0, result.stderr
    assert (real / "sub" / "secret").read_text() == "secret"
