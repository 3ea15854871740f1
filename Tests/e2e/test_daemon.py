"""`secret-sync daemon` and `once --timeout` against the local world."""

from __future__ import annotations

import json
import random
import signal
import socket
import threading
import time

from support import Notifications, start_daemon, stop, two_secrets, wait_for


def test_rotation_is_picked_up_within_one_interval(sync, admin, names, emulator):
    admin.create_secret(Name=names("api"), SecretString="v1")
    sync.write(f"""\
        - id: {names("api")}
          files:
            - path: {sync.out}/token
          on_change:
            - {sync.hook("api")}
        """, extra="interval: 2s\n")
    notify = Notifications(sync.root)
    daemon = start_daemon(sync, notify)
    try:
        first = notify.next()
        assert first.startswith("READY=1\nSTATUS=in sync: 1 secrets, 1 files written, 1 hooks run"), first
        assert (sync.out / "token").read_text() == "v1"
        admin.put_secret_value(SecretId=names("api"), SecretString="v2")
        rotated_at = time.monotonic()
        wait_for(lambda: (sync.out / "token").read_text() == "v2", 2 * 1.1 + 5, "the rotation")
        # Within one interval (2 s, +10% jitter) plus the pass itself.
        assert time.monotonic() - rotated_at < 2 * 1.1 + 3
        wait_for(lambda: len(sync.hook_runs()) == 2, 5, "the hook")
        notify.passes(2)  # the pass that wrote v2 may be the first of these; the second changes nothing
        assert len(sync.hook_runs()) == 2
    finally:
        stderr = stop(daemon)
    assert daemon.returncode == 0, stderr
    assert "notice: stopping signal=15" in stderr
    # Credentials are reused across passes: one CreateSession for the daemon's whole life here.
    assert len(emulator.requests()) == 1


def test_sighup_reloads_a_valid_manifest_and_keeps_the_old_on_an_invalid_one(sync, admin, names):
    admin.create_secret(Name=names("a"), SecretString="a1")
    admin.create_secret(Name=names("b"), SecretString="b1")
    one = f"""\
        - id: {names("a")}
          files:
            - path: {sync.out}/a
        """
    sync.write(one, extra="interval: 1h\n")
    notify = Notifications(sync.root)
    daemon = start_daemon(sync, notify)
    try:
        assert notify.next().startswith("READY=1")
        sync.write(one.rstrip(" ") + f"""\
        - id: {names("b")}
          files:
            - path: {sync.out}/b
        """, extra="interval: 1h\n")
        daemon.send_signal(signal.SIGHUP)
        assert notify.until("RELOADING=1") == "RELOADING=1"
        assert notify.next() == "READY=1\nSTATUS=manifest reloaded"
        wait_for(lambda: (sync.out / "b").exists(), 10, "the new secret's file")  # a reload runs a pass at once

        sync.manifest.write_text(sync.manifest.read_text().replace("version: 1", "version: 7"))
        daemon.send_signal(signal.SIGHUP)
        assert notify.until("RELOADING=1") == "RELOADING=1"
        assert notify.next() == "READY=1\nSTATUS=manifest reload failed; running the previous one"
        assert daemon.poll() is None  # still running, on the previous manifest
    finally:
        stderr = stop(daemon)
    assert daemon.returncode == 0
    assert "error: manifest reload failed; keeping the previous manifest: invalid manifest" in stderr
    assert "version '7' is not supported" in stderr


def test_sigterm_during_passes_leaves_every_file_whole(sync, admin, names):
    """Files are rewritten on every pass (the secret rotates constantly); SIGTERM lands anywhere."""
    values = {f"v{i}": "x" * 20000 + str(i) for i in range(3)}
    admin.create_secret(Name=names("big"), SecretString=json.dumps(values))
    files = "".join(f"    - path: {sync.out}/f{i:02d}\n      key: v{i % 3}\n" for i in range(30))
    sync.write(f"- id: {names('big')}\n  files:\n{files}", extra="interval: 1s\n")
    rotating = True

    def rotate():
        n = 0
        while rotating:
            n += 1
            admin.put_secret_value(SecretId=names("big"), SecretString=json.dumps({k: v[:-1] + str(n) for k, v in values.items()}))
            time.sleep(0.1)

    rotator = threading.Thread(target=rotate, daemon=True)
    rotator.start()
    for _ in range(3):
        daemon = start_daemon(sync)
        time.sleep(random.uniform(1.0, 3.0))
        stderr = stop(daemon)
        assert daemon.returncode == 0, stderr
        for path in sync.out.iterdir():
            content = path.read_text()
            assert len(content) == 20001 or len(content) > 20001 and content.startswith("x" * 20000), path
            assert content.startswith("x" * 20000)
        assert not [p for p in sync.out.iterdir() if p.name.startswith(".")]  # no temporary file left
    rotating = False
    rotator.join()


def test_journald_gets_syslog_priorities(sync, admin, names):
    admin.create_secret(Name=names("api"), SecretString="v1")
    sync.write(f"""\
        - id: {names("api")}
          files:
            - path: {sync.out}/token
        """)
    sync.env["JOURNAL_STREAM"] = "8:12345"
    result = sync.once()
    assert result.returncode == 0, result.stderr
    assert f"<5>notice: created {sync.out}/token " in result.stderr


def test_once_timeout_keeps_the_last_good_files(sync, admin, names):
    two_secrets(sync, admin, names)
    assert sync.once().returncode == 0
    # An endpoint that accepts connections and never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        sync.env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        result = sync.once("--timeout", "2s")
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert result.returncode == 1
    assert elapsed < 8, elapsed
    assert "secret b was not synced: the --timeout of 2s was reached" in result.stderr or "deadline passed" in result.stderr
    assert "pass incomplete: 2 of 2 secrets failed (a, b); the last good files were kept" in result.stderr
    assert (sync.out / "a").read_text() == "a-v1" and (sync.out / "b").read_text() == "b-v1"
    assert sync.once("--timeout", "soon").returncode == 2
