"""The daemon's credentials endpoint (`credentials_endpoint:`) used by real clients — boto3 and the
AWS CLI through the SDKs' container credentials provider — while the daemon keeps syncing files."""

from __future__ import annotations

import json
import os
import select
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request

from support import Notifications, wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def endpoint_daemon(sync, admin, names, tmp_path, group: str = "nogroup"):
    admin.create_secret(Name=names("file"), SecretString="synced")
    port = free_port()
    token_file = tmp_path / "run" / "credentials.token"
    sync.write(f"""\
        - id: {names("file")}
          name: file
          files:
            - path: {sync.out}/file
        """, extra=f"credentials_endpoint:\n  listen: 127.0.0.1:{port}\n  token_file: {token_file}\n  group: {group}\n")
    notify = Notifications(tmp_path)
    # The log goes to a file, read whole while the daemon runs (request lines come from many threads).
    log = tmp_path / "daemon.log"
    daemon = subprocess.Popen([str(sync.binary), "daemon", "-c", str(sync.manifest), "--log-level", "info"],
                              env=dict(sync.env, NOTIFY_SOCKET=notify.path), stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    daemon.log = log
    notify.passes(1)
    return daemon, f"http://127.0.0.1:{port}/credentials", token_file


def stop(daemon) -> str:
    daemon.send_signal(15)
    daemon.wait(timeout=30)
    return daemon.log.read_text()


def logged(daemon, text: str) -> None:
    """Waits until the daemon's log holds `text` (each request is logged just after its answer)."""
    wait_for(lambda: text in daemon.log.read_text(), 30, f"{text!r} in the daemon's log")


def client_env(sync, url: str, token_file) -> dict[str, str]:
    """What an application's unit sets: the two variables, and nothing of the daemon's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONTAINER_CREDENTIALS_FULL_URI=url, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=str(token_file),
               AWS_ENDPOINT_URL_SECRETS_MANAGER=sync.env["AWS_ENDPOINT_URL_SECRETS_MANAGER"],
               AWS_CA_BUNDLE=sync.env["AWS_CA_BUNDLE"], AWS_DEFAULT_REGION="us-west-2", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true")
    return env


def get(url: str, token: str | None = None, method: str = "GET", path: str | None = None):
    request = urllib.request.Request(url if path is None else url.rsplit("/", 1)[0] + path, method=method,
                                     headers={"Authorization": token} if token is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_boto3_and_the_aws_cli_read_a_secret_with_the_endpoints_credentials(sync, admin, names, tmp_path):
    daemon, url, token_file = endpoint_daemon(sync, admin, names, tmp_path)
    try:
        assert (sync.out / "file").read_text() == "synced"
        info = token_file.stat()
        assert stat.S_IMODE(info.st_mode) == 0o640 and info.st_uid == 0 and info.st_gid == 65534  # nogroup
        assert len(token_file.read_text()) == 64
        admin.create_secret(Name=names("app"), SecretString="for-the-app")
        env = client_env(sync, url, token_file)
        script = ("import boto3\nprint(boto3.client('secretsmanager').get_secret_value(SecretId=%r)['SecretString'])\n" % names("app"))
        boto3_run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
        assert boto3_run.returncode == 0, boto3_run.stderr
        assert boto3_run.stdout.strip() == "for-the-app"
        cli = subprocess.run(["aws", "secretsmanager", "get-secret-value", "--secret-id", names("app"), "--query", "SecretString",
                              "--output", "text"], env=env, capture_output=True, text=True, timeout=60)
        assert cli.returncode == 0, cli.stderr
        assert cli.stdout.strip() == "for-the-app"
        logged(daemon, "credentials served")
    finally:
        log = stop(daemon)
    assert "uid=" in log
    assert not token_file.exists()  # removed at stop; a new one is made at each start
    served = [line for line in log.splitlines() if "credentials served" in line]
    assert served and all("SecretAccessKey" not in line and "Token" not in line for line in served)


def test_only_a_get_with_the_token_on_the_one_path_is_answered(sync, admin, names, tmp_path):
    """Row: a request to the credentials endpoint without the token, with a wrong one, to another path, or not a GET | 401, 403, 404, 405 (400 for garbage); compared in constant time; logged with the peer's uid, never the token"""
    daemon, url, token_file = endpoint_daemon(sync, admin, names, tmp_path)
    try:
        token = token_file.read_text()
        assert get(url)[0] == 401
        assert get(url, "0" * 64)[0] == 403
        assert get(url, token[:-1])[0] == 403
        assert get(url, token, path="/other")[0] == 404
        assert get(url, token, method="POST")[0] == 405
        status, document = get(url, token)
        assert status == 200 and set(document) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
        with socket.create_connection(("127.0.0.1", int(url.split(":")[2].split("/")[0]))) as raw:
            raw.sendall(b"garbage\r\n\r\n")
            assert raw.recv(100).startswith(b"HTTP/1.1 400")
        logged(daemon, "credentials refused: wrong token")
    finally:
        log = stop(daemon)
    assert token not in log and document["SecretAccessKey"] not in log
    assert "uid=" in log


def test_credentials_are_renewed_and_an_unrenewable_session_is_an_error_not_stale_keys(sync, admin, names, tmp_path, emulator):
    """Row: the endpoint's session expires while IAM Roles Anywhere is down | answers 503 CredentialsUnavailable, never expired credentials; fresh ones once it is back; the daemon goes on syncing files"""
    # Sessions of 2 seconds: every request needs a new one.
    emulator.post("/_emulator/session_seconds", {"seconds": 2})
    daemon, url, token_file = endpoint_daemon(sync, admin, names, tmp_path)
    try:
        token = token_file.read_text()
        first = get(url, token)[1]
        second = get(url, token)[1]
        assert first["AccessKeyId"] != second["AccessKeyId"]  # a new session, not the cached one
        emulator.post("/_emulator/down", {"regions": ["us-west-2"]})
        wait_for(lambda: get(url, token)[0] == 503, 30, "an error once the session cannot be renewed")
        status, document = get(url, token)
        assert status == 503 and document["Code"] == "CredentialsUnavailable"
        emulator.post("/_emulator/down", {"regions": []})
        status, document = get(url, token)
        assert status == 200 and document["AccessKeyId"] not in (first["AccessKeyId"], second["AccessKeyId"])
        # Meanwhile the daemon goes on syncing.
        admin.put_secret_value(SecretId=names("file"), SecretString="synced-2")
        daemon.send_signal(1)  # SIGHUP: a pass now
        wait_for(lambda: (sync.out / "file").read_text() == "synced-2", 30, "the daemon's next pass")
    finally:
        stop(daemon)


def test_a_client_that_trickles_its_request_loses_its_slot(sync, admin, names, tmp_path):
    """Row: a local client sends its request to the credentials endpoint a byte at a time (slowloris) | one 5-second deadline for the whole request head, then the connection is closed: 16 such clients cannot hold the endpoint"""
    daemon, url, token_file = endpoint_daemon(sync, admin, names, tmp_path)
    port = int(url.split(":")[2].split("/")[0])
    try:
        with socket.create_connection(("127.0.0.1", port)) as trickle:
            started = time.monotonic()
            try:
                for byte in b"GET /credentials HTTP/1.1\r\nHost: x\r\n":
                    trickle.sendall(bytes([byte]))
                    ready, _, _ = select.select([trickle], [], [], 0.5)  # one byte every half second
                    if ready and trickle.recv(100) == b"":
                        break
            except (BrokenPipeError, ConnectionResetError):
                pass  # closed while the head was still coming: what the deadline is for
            # Without a deadline for the whole head the 37 bytes take 18 s and nothing closes.
            closed_after = time.monotonic() - started
            assert closed_after < 10, closed_after
    finally:
        stop(daemon)


HOLDER = """
import select, socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
def connect():
    return socket.create_connection(("127.0.0.1", port))
held = [connect() for _ in range(count)]
print("holding", flush=True)
while True:  # every connection the endpoint closes is opened again at once: the pressure never lets up
    ready, _, _ = select.select(held + [sys.stdin], [], [])
    if sys.stdin in ready:
        break
    for connection in ready:
        if not connection.recv(4096):
            connection.close()
            held[held.index(connection)] = connect()
"""


def test_another_users_idle_connections_cannot_lock_out_token_holders(sync, admin, names, tmp_path):
    """Row: another local user holds 40 idle connections to the credentials endpoint, reopening each one closed | each user gets at most 8 of its 64 connections: a token holder is still served; the refusals are logged with the uid, at most one line per user and status every 10 s"""
    daemon, url, token_file = endpoint_daemon(sync, admin, names, tmp_path)
    port = int(url.split(":")[2].split("/")[0])
    holder = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable, "-c", HOLDER, str(port), "40"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "holding\n"
        logged(daemon, "8 connections of this user at once")
        token = token_file.read_text()
        for _ in range(20):
            status, document = get(url, token)
            assert status == 200, document
        assert holder.poll() is None, "the holder was still holding"
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        log = stop(daemon)
    refusals = [line for line in log.splitlines() if "credentials refused" in line and "nobody" in line]
    assert refusals and "8 connections of this user at once" in refusals[0], refusals[:3]
    assert len(refusals) <= 4, f"refusals are logged at most once per user and status every 10 s, not per connection: {len(refusals)} lines"


def test_a_taken_port_does_not_stop_the_daemon_from_syncing(sync, admin, names, tmp_path):
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    port = squatter.getsockname()[1]
    admin.create_secret(Name=names("file"), SecretString="synced")
    token_file = tmp_path / "run" / "credentials.token"
    sync.write(f"- id: {names('file')}\n  files:\n    - path: {sync.out}/file\n",
               extra=f"credentials_endpoint:\n  listen: 127.0.0.1:{port}\n  token_file: {token_file}\n")
    notify = Notifications(tmp_path)
    log = tmp_path / "daemon.log"
    daemon = subprocess.Popen([str(sync.binary), "daemon", "-c", str(sync.manifest), "--log-level", "info"],
                              env=dict(sync.env, NOTIFY_SOCKET=notify.path), stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    daemon.log = log
    try:
        assert notify.passes(1)[0].startswith("in sync")
        assert (sync.out / "file").read_text() == "synced"
        assert "credentials endpoint not started" in log.read_text() and "address already in use" in log.read_text().lower()
        assert not token_file.exists()
    finally:
        stop(daemon)
        squatter.close()
