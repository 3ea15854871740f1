"""Helpers shared by the end-to-end tests: a manifest and the binary run on it, the daemon's
sd_notify messages, and waiting on events instead of sleeping."""

from __future__ import annotations

import signal
import socket
import subprocess
import textwrap
import time
from pathlib import Path

from conftest import run


class Sync:
    """A manifest in a temporary directory, and `secret-sync once` run on it."""

    def __init__(self, binary, world, env, root: Path, role: str | None = None):
        self.binary, self.world, self.env, self.root = binary, world, env, root
        self.out = root / "out"
        self.state = root / "state"
        self.manifest = root / "manifest.yaml"
        self.hook_log = root / "hooks.log"
        self.role = role or world.description()["role_arn"]

    def auth(self) -> str:
        d, pki = self.world.description(), self.world.pki / "clients"
        return textwrap.dedent(f"""\
            auth:
              roles_anywhere:
                certificate: {pki / "chained" / "ec-p256-sec1.crt"}
                private_key: {pki / "ec-p256-sec1.key"}
                intermediates: {pki / "chain.pem"}
                trust_anchor_arn: {d["trust_anchor_arn"]}
                profile_arn: {d["profile_arn"]}
                role_arn: {self.role}
            """)

    def write(self, secrets: str, auth: str | None = None, extra: str = "", parameters: str = "") -> None:
        """A manifest with `secrets` (YAML list items) and, if given, `parameters`."""
        text = "version: 1\n" + (auth or self.auth()) + f"state_dir: {self.state}\n" + extra
        if secrets or not parameters:
            text += "secrets:\n" + textwrap.indent(textwrap.dedent(secrets), "  ")
        if parameters:
            text += "parameters:\n" + textwrap.indent(textwrap.dedent(parameters), "  ")
        self.manifest.write_text(text)

    def once(self, *args: str, user: str | None = None) -> subprocess.CompletedProcess:
        return run(self.binary, ["once", "-c", str(self.manifest), *args], self.env, user=user)

    def hook(self, tag: str) -> str:
        """A hook command that appends `tag` and the changed secrets to the hook log."""
        return f'echo "{tag} $SECRET_SYNC_CHANGED" >> {self.hook_log}'

    def hook_runs(self) -> list[str]:
        return self.hook_log.read_text().splitlines() if self.hook_log.exists() else []

    def snapshot(self) -> dict[str, tuple[int, int]]:
        return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(self.out.iterdir())}


DB = {"username": "app", "password": "pa55-\"quoted\"-$HOME-`x`", "port": 5432, "ratio": 1.50, "nested": {"a": 1}}
DB_TEXT = '{"username": "app", "password": "pa55-\\"quoted\\"-$HOME-`x`", "port": 5432, "ratio": 1.50, "nested": {"a": 1}}'


def two_secrets(sync: "Sync", admin, names) -> None:
    """Secrets a and b (values a-v1, b-v1), each written to its own file."""
    admin.create_secret(Name=names("a"), SecretString="a-v1")
    admin.create_secret(Name=names("b"), SecretString="b-v1")
    sync.write(f"""\
        - id: {names("a")}
          name: a
          files:
            - path: {sync.out}/a
        - id: {names("b")}
          name: b
          files:
            - path: {sync.out}/b
        """)


def ok(result) -> None:
    assert result.returncode == 0, result.stderr


class Notifications:
    """A NOTIFY_SOCKET for the daemon, collecting what it says (sd_notify)."""

    def __init__(self, directory: Path):
        self.path = str(directory / "notify.sock")
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(self.path)
        self.socket.settimeout(30)

    def next(self) -> str:
        return self.socket.recv(4096).decode()

    def until(self, prefix: str) -> str:
        while not (message := self.next()).startswith(prefix) and prefix not in message:
            pass
        return message

    def passes(self, count: int) -> list[str]:
        """Waits for `count` more passes to end (their STATUS= lines) and returns those lines."""
        statuses = []
        while len(statuses) < count:
            message = self.next()
            status = message.split("STATUS=", 1)[-1] if "STATUS=" in message else ""
            if status.startswith(("in sync", "pass incomplete", "pass failed")):
                statuses.append(status)
        return statuses


def read_until(stream, text: str, timeout: float) -> str:
    """Reads lines of a subprocess's text stream until one contains `text`; fails after `timeout`."""
    import select
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"{text!r} did not appear within {timeout}s; got: {''.join(seen)!r}")


def start_daemon(sync: Sync, notify: Notifications | None = None, *args: str) -> subprocess.Popen:
    env = dict(sync.env)
    if notify:
        env["NOTIFY_SOCKET"] = notify.path
    return subprocess.Popen([str(sync.binary), "daemon", "-c", str(sync.manifest), "--log-level", "info", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    return stderr


def wait_for(predicate, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout}s")
