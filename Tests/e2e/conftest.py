"""End-to-end fixtures: the built secret-sync binary and the local AWS world.

The world (moto with authentication on + the Roles Anywhere emulator) is started once for the
session and stopped at the end. A missing component is an error, never a skip.
"""

from __future__ import annotations

import json
import uuid
import os
import pwd
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from testworld.world import World  # noqa: E402


def pytest_configure(config):
    for tool in ("moto_server", "openssl", "aws", "faketime", "flock"):
        if shutil.which(tool) is None:
            raise pytest.UsageError(f"{tool} is not installed: run .ci/run's install step (see README)")


@pytest.fixture(scope="session")
def binary() -> Path:
    path = Path(os.environ.get("SECRET_SYNC_BINARY", REPO / ".build" / "debug" / "secret-sync"))
    if not path.is_file():
        raise RuntimeError(f"secret-sync binary not found at {path}: run `swift build` first (scripts/test.sh does)")
    return path


@pytest.fixture(scope="session")
def world():
    directory = Path(tempfile.mkdtemp(prefix="secret-sync-world-"))
    # Other users (the permission tests run the binary as `nobody`) must reach the certificates.
    directory.chmod(0o755)
    instance = World(directory).start()
    try:
        yield instance
    finally:
        instance.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def emulator(world):
    """Admin access to the emulator: its request log and clock. Reset around each test."""
    client = EmulatorAdmin(world)
    client.post("/_emulator/reset", {})
    yield client
    client.post("/_emulator/reset", {})


class EmulatorAdmin:
    def __init__(self, world: World):
        self.base = world.emulator_endpoint
        self.context = ssl.create_default_context(cafile=world.ca_bundle)

    def post(self, path: str, document: dict) -> dict:
        request = urllib.request.Request(
            self.base + path, data=json.dumps(document).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=self.context) as answer:
            return json.loads(answer.read())

    def requests(self) -> list[dict]:
        with urllib.request.urlopen(self.base + "/_emulator/requests", context=self.context) as answer:
            return json.loads(answer.read())["requests"]

    def skew_clock(self, seconds: float) -> None:
        self.post("/_emulator/clock", {"offset_seconds": seconds})


@pytest.fixture
def shared_dir():
    """A directory that users other than root can traverse (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="secret-sync-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def clean_env(world, tmp_path) -> dict[str, str]:
    """A process environment with no AWS settings from this machine, pointed at the world."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k.lower() not in ("https_proxy", "http_proxy", "no_proxy", "all_proxy")}
    env.update(world.environment())
    env["HOME"] = str(tmp_path)
    env["AWS_CONFIG_FILE"] = str(tmp_path / "aws-config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "aws-credentials")
    return env


def credential_process_args(world: World, certificate: str, key: str, chain: str | None = None, role: str | None = None) -> list[str]:
    args = [
        "credential-process",
        "--certificate", certificate,
        "--private-key", key,
        "--trust-anchor-arn", world.description()["trust_anchor_arn"],
        "--profile-arn", world.description()["profile_arn"],
        "--role-arn", role or world.description()["role_arn"],
    ]
    if chain:
        args += ["--intermediates", chain]
    return args


def run(binary: Path, args: list[str], env: dict[str, str], user: str | None = None) -> subprocess.CompletedProcess:
    command = [str(binary), *args]
    if user:
        entry = pwd.getpwnam(user)
        command = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", *command]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def admin(world):
    d = world.description()
    return world.boto_client("secretsmanager", keys=(d["admin_access_key_id"], d["admin_secret_access_key"]))


@pytest.fixture
def ssm_admin(world):
    """Parameter Store as the world's administrator (every parameter, every action)."""
    d = world.description()
    return world.boto_client("ssm", keys=(d["admin_access_key_id"], d["admin_secret_access_key"]))


@pytest.fixture
def names():
    """Secret names unique to the test, so tests never see each other's rotations."""
    prefix = f"t/{uuid.uuid4().hex[:8]}"
    return lambda name: f"{prefix}/{name}"


@pytest.fixture
def sync(binary, world, clean_env, shared_dir):
    from support import Sync
    return Sync(binary, world, clean_env, shared_dir)


@pytest.fixture
def faults(world, sync):
    """A fault-injecting proxy in front of moto, which Secrets Manager calls go through."""
    from testworld.fault_proxy import FaultProxy
    proxy = FaultProxy(world.moto_port, str(world.pki / "tls" / "server.crt"), str(world.pki / "tls" / "server.key"), world.ca_bundle)
    sync.env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = f"https://127.0.0.1:{proxy.port}"
    yield proxy
    proxy.close()
