"""Brings the local AWS world up and down: moto (HTTPS, authentication on) and the emulator.

    python3 -m testworld.world up --dir DIR     # writes DIR/world.json and DIR/world.env, leaves servers running
    python3 -m testworld.world down --dir DIR   # stops them

The pytest suite uses `World` directly and stops it at the end of the session.

moto's traps with authentication on (shared/TESTING-NOTES.md) and how this world meets them:
  1. auth starts after N unauthenticated calls: everything is created first, then
     `POST /moto-api/reset-auth 0` turns authentication on for every later call;
  2. Secrets Manager is authorised against Resource "*": the test role's policy grants its
     actions on "*" (in AWS the policy would name the secrets' ARNs); Parameter Store is too in
     stock moto, so testworld/moto_world.py authorises each parameter by its ARN, as AWS does,
     and the role may read only the parameters under /t/ and /demo/;
  3. AssumeRole crashes when the trust policy has a Service principal: the role trusts the
     emulator's IAM user instead of rolesanywhere.amazonaws.com, and the emulator calls
     AssumeRole as that user.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config

REPO = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
REGION = "us-west-2"
TRUST_ANCHOR_ARN = f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:trust-anchor/0b8f6f6e-1a2b-4c3d-8e9f-000000000001"
PROFILE_ARN = f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:profile/0b8f6f6e-1a2b-4c3d-8e9f-000000000002"
# The same setup in a second region, for failover (`fallback_regions:`, `roles_anywhere.fallback:`).
FALLBACK_REGION = "us-east-1"
FALLBACK_TRUST_ANCHOR_ARN = f"arn:aws:rolesanywhere:{FALLBACK_REGION}:{ACCOUNT}:trust-anchor/0b8f6f6e-1a2b-4c3d-8e9f-000000000011"
FALLBACK_PROFILE_ARN = f"arn:aws:rolesanywhere:{FALLBACK_REGION}:{ACCOUNT}:profile/0b8f6f6e-1a2b-4c3d-8e9f-000000000012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ira-xpart-test-role"
NO_SECRETS_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ira-no-secrets-role"
UNLISTED_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ira-unlisted-role"
SINGLE_READS_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ira-single-reads-role"

# Secrets the world starts with. Test values only.
SEED_SECRETS = {
    "demo/db": json.dumps({"username": "app", "password": "s3cr3t-pa55-demo", "port": 5432, "host": "db.internal"}),
    "demo/api-token": "tok-demo-0123456789",
}


# Parameter Store parameters the world starts with (SecureString). Test values only.
SEED_PARAMETERS = {
    "/demo/app/db-url": "postgres://app@db.internal:5432/app",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} before listening on port {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen on port {port} within {timeout}s")


@dataclass
class World:
    directory: Path
    pki: Path = field(init=False)
    moto_port: int = 0
    emulator_port: int = 0
    processes: list = field(default_factory=list)
    admin_keys: tuple[str, str] = ("", "")
    # Serve moto with HTTP/1.1 keep-alive (testworld/keepalive_moto.py) instead of moto_server,
    # which closes every connection; for performance measurements.
    keep_alive: bool = False

    def __post_init__(self):
        self.directory = Path(self.directory).resolve()
        self.pki = self.directory / "pki"

    @property
    def moto_endpoint(self) -> str:
        return f"https://127.0.0.1:{self.moto_port}"

    @property
    def emulator_endpoint(self) -> str:
        return f"https://127.0.0.1:{self.emulator_port}"

    @property
    def ca_bundle(self) -> str:
        return str(self.pki / "tls" / "ca-bundle.pem")

    def start(self) -> "World":
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.pki.exists():
            subprocess.run([str(REPO / "scripts" / "make-test-pki.sh"), str(self.pki)], check=True, stdout=subprocess.DEVNULL)
        logs = self.directory / "logs"
        logs.mkdir(exist_ok=True)
        self.moto_port = free_port()
        command = [sys.executable, "-m", "testworld.moto_world", "-H", "127.0.0.1", "-p", str(self.moto_port),
                   "-c", str(self.pki / "tls" / "server.crt"), "-k", str(self.pki / "tls" / "server.key")]
        if self.keep_alive:
            command = [sys.executable, "-m", "testworld.keepalive_moto", "--port", str(self.moto_port),
                       "--cert", str(self.pki / "tls" / "server.crt"), "--key", str(self.pki / "tls" / "server.key")]
        moto = subprocess.Popen(
            command, cwd=REPO,
            stdout=open(logs / "moto.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "false"},
        )
        self.processes.append(moto)
        wait_for_port(self.moto_port, moto, "moto_server")
        emulator_keys = self.seed()
        self.emulator_port = free_port()
        config = {
            "host": "127.0.0.1",
            "port": self.emulator_port,
            "region": REGION,
            "regions": [REGION, FALLBACK_REGION],
            "account": ACCOUNT,
            "tls_certificate": str(self.pki / "tls" / "server.crt"),
            "tls_private_key": str(self.pki / "tls" / "server.key"),
            "trust_anchors": [{"arn": arn, "ca_certificate": str(self.pki / "ca" / "root-ca.crt")}
                              for arn in (TRUST_ANCHOR_ARN, FALLBACK_TRUST_ANCHOR_ARN)],
            "profiles": [{"arn": arn, "role_arns": [ROLE_ARN, NO_SECRETS_ROLE_ARN, SINGLE_READS_ROLE_ARN], "duration_seconds": 3600}
                         for arn in (PROFILE_ARN, FALLBACK_PROFILE_ARN)],
            "sts_endpoint": self.moto_endpoint,
            "sts_ca_bundle": self.ca_bundle,
            "sts_access_key_id": emulator_keys[0],
            "sts_secret_access_key": emulator_keys[1],
        }
        config_path = self.directory / "emulator.json"
        config_path.write_text(json.dumps(config, indent=2))
        config_path.chmod(0o600)
        emulator = subprocess.Popen(
            [sys.executable, "-m", "testworld.rolesanywhere_emulator", "--config", str(config_path)],
            cwd=REPO, stdout=open(logs / "emulator.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.processes.append(emulator)
        wait_for_port(self.emulator_port, emulator, "rolesanywhere emulator")
        self.write_descriptions()
        return self

    def boto_client(self, service: str, keys: tuple[str, str] | None = None, token: str | None = None):
        access, secret = keys or ("testing", "testing")
        return boto3.client(
            service, endpoint_url=self.moto_endpoint, region_name=REGION, verify=self.ca_bundle,
            aws_access_key_id=access, aws_secret_access_key=secret, aws_session_token=token,
            config=Config(retries={"max_attempts": 1}),
        )

    def seed(self) -> tuple[str, str]:
        """Creates users, roles and secrets with auth off, then switches authentication on."""
        iam = self.boto_client("iam")
        iam.create_user(UserName="rolesanywhere-emulator")
        iam.put_user_policy(
            UserName="rolesanywhere-emulator", PolicyName="assume-roles",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"], "Resource": "*"}]}),
        )
        emulator_key = iam.create_access_key(UserName="rolesanywhere-emulator")["AccessKey"]
        iam.create_user(UserName="world-admin")
        iam.put_user_policy(
            UserName="world-admin", PolicyName="everything",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        )
        admin_key = iam.create_access_key(UserName="world-admin")["AccessKey"]
        self.admin_keys = (admin_key["AccessKeyId"], admin_key["SecretAccessKey"])
        # In AWS this trust policy names the Service principal rolesanywhere.amazonaws.com; moto
        # crashes on Service principals with auth on (trap 3), so it trusts the emulator's user.
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/rolesanywhere-emulator"},
            "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}]})
        for role in ("ira-xpart-test-role", "ira-no-secrets-role", "ira-unlisted-role", "ira-single-reads-role"):
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust, MaxSessionDuration=43200)
        # Resource "*" because stock moto authorises Secrets Manager calls against "*" (trap 2).
        iam.put_role_policy(
            RoleName="ira-xpart-test-role", PolicyName="read-secrets",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret",
                           "secretsmanager:BatchGetSecretValue", "secretsmanager:ListSecrets", "sts:GetCallerIdentity"],
                "Resource": "*"}]}),
        )
        # Parameter Store by ARN (testworld/moto_world.py): only what is under /t/ (the tests') and /demo/.
        iam.put_role_policy(
            RoleName="ira-xpart-test-role", PolicyName="read-parameters",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["ssm:GetParameters", "ssm:GetParametersByPath"],
                "Resource": [f"arn:aws:ssm:{region}:{ACCOUNT}:parameter/{path}/*"
                             for region in (REGION, FALLBACK_REGION) for path in ("t", "demo")]}]}),
        )
        # GetSecretValue but not BatchGetSecretValue: the fallback to single reads is exercised with it.
        iam.put_role_policy(
            RoleName="ira-single-reads-role", PolicyName="read-secrets-singly",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": "*"}]}),
        )
        iam.put_role_policy(
            RoleName="ira-no-secrets-role", PolicyName="identity-only",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["sts:GetCallerIdentity"], "Resource": "*"}]}),
        )
        secrets = self.boto_client("secretsmanager")
        for name, value in SEED_SECRETS.items():
            secrets.create_secret(Name=name, SecretString=value)
        parameters = self.boto_client("ssm")
        for name, value in SEED_PARAMETERS.items():
            parameters.put_parameter(Name=name, Value=value, Type="SecureString")
        # From here on every call is authenticated and authorised (trap 1).
        import urllib.request
        import ssl
        context = ssl.create_default_context(cafile=self.ca_bundle)
        request = urllib.request.Request(f"{self.moto_endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(request, context=context) as answer:
            assert answer.status == 200, answer.read()
        return emulator_key["AccessKeyId"], emulator_key["SecretAccessKey"]

    def description(self) -> dict:
        return {
            "region": REGION,
            "account": ACCOUNT,
            "moto_endpoint": self.moto_endpoint,
            "rolesanywhere_endpoint": self.emulator_endpoint,
            "ca_bundle": self.ca_bundle,
            "pki": str(self.pki),
            "trust_anchor_arn": TRUST_ANCHOR_ARN,
            "profile_arn": PROFILE_ARN,
            "fallback_region": FALLBACK_REGION,
            "fallback_trust_anchor_arn": FALLBACK_TRUST_ANCHOR_ARN,
            "fallback_profile_arn": FALLBACK_PROFILE_ARN,
            "role_arn": ROLE_ARN,
            "no_secrets_role_arn": NO_SECRETS_ROLE_ARN,
            "unlisted_role_arn": UNLISTED_ROLE_ARN,
            "single_reads_role_arn": SINGLE_READS_ROLE_ARN,
            "admin_access_key_id": self.admin_keys[0],
            "admin_secret_access_key": self.admin_keys[1],
            "pids": [p.pid for p in self.processes],
        }

    def environment(self) -> dict[str, str]:
        """The standard AWS variables that point a client at this world."""
        return {
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.moto_endpoint,
            "AWS_ENDPOINT_URL_SSM": self.moto_endpoint,
            "AWS_ENDPOINT_URL_STS": self.moto_endpoint,
            "AWS_ENDPOINT_URL_ROLESANYWHERE": self.emulator_endpoint,
            "AWS_CA_BUNDLE": self.ca_bundle,
        }

    def write_descriptions(self) -> None:
        path = self.directory / "world.json"
        path.write_text(json.dumps(self.description(), indent=2))
        path.chmod(0o600)
        lines = [f"export {k}={v}" for k, v in self.environment().items()]
        lines += [f"export WORLD_{k.upper()}={v}" for k, v in self.description().items() if isinstance(v, str) and k != "admin_secret_access_key"]
        (self.directory / "world.env").write_text("\n".join(lines) + "\n")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the local AWS test world")
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--dir", required=True, type=Path)
    args = parser.parse_args(argv)
    if args.action == "up":
        world = World(args.dir).start()
        print(f"world up: moto {world.moto_endpoint}, Roles Anywhere emulator {world.emulator_endpoint}")
        print(f"          source {world.directory / 'world.env'} to point clients at it")
        return 0
    description = json.loads((args.dir / "world.json").read_text())
    for pid in description["pids"]:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    print("world down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
