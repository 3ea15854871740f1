"""`secret-sync credential-process` as the AWS CLI and boto3 use it, against the local world."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import threading

import boto3
import pytest

from conftest import credential_process_args, run

KEYS = ["rsa2048-pkcs1", "rsa2048-pkcs8", "rsa4096-pkcs8", "ec-p256-sec1", "ec-p256-pkcs8", "ec-p384-sec1", "ec-p384-pkcs8"]
SECRET = "tok-demo-0123456789"


def material(world, name: str, chained: bool) -> tuple[str, str, str | None]:
    pki = world.pki / "clients"
    folder = "chained" if chained else "direct"
    return str(pki / folder / f"{name}.crt"), str(pki / f"{name}.key"), str(pki / "chain.pem") if chained else None


def write_profile(env: dict[str, str], binary, args: list[str]) -> None:
    command = " ".join([str(binary), *args])
    with open(env["AWS_CONFIG_FILE"], "w") as f:
        f.write(f"[profile ira]\nregion = us-west-2\ncredential_process = {command}\n")
    env["AWS_PROFILE"] = "ira"


@pytest.mark.parametrize("chained", [False, True], ids=["direct", "chained"])
@pytest.mark.parametrize("name", KEYS)
def test_aws_cli_reads_a_secret(binary, world, emulator, clean_env, name, chained):
    certificate, key, chain = material(world, name, chained)
    write_profile(clean_env, binary, credential_process_args(world, certificate, key, chain))
    result = subprocess.run(
        ["aws", "secretsmanager", "get-secret-value", "--secret-id", "demo/api-token", "--query", "SecretString", "--output", "text"],
        env=clean_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == SECRET
    [record] = emulator.requests()
    assert record["status"] == 201
    assert record["algorithm"] == ("AWS4-X509-RSA-SHA256" if name.startswith("rsa") else "AWS4-X509-ECDSA-SHA256")
    assert record["chain_length"] == (1 if chained else 0)
    assert record["arns_in_query"] == ["profileArn", "roleArn", "trustAnchorArn"]
    expected = "content-type;host;x-amz-date;x-amz-x509" + (";x-amz-x509-chain" if chained else "")
    assert record["signed_headers"] == expected


@pytest.mark.parametrize("chained", [False, True], ids=["direct", "chained"])
@pytest.mark.parametrize("name", KEYS)
def test_boto3_reads_a_secret(binary, world, emulator, clean_env, monkeypatch, name, chained):
    certificate, key, chain = material(world, name, chained)
    write_profile(clean_env, binary, credential_process_args(world, certificate, key, chain))
    # boto3 reads the config file and runs the credential process itself, in this environment.
    for variable in list(os.environ):
        monkeypatch.delenv(variable)
    for variable, value in clean_env.items():
        monkeypatch.setenv(variable, value)
    session = boto3.Session(profile_name="ira")
    client = session.client("secretsmanager", endpoint_url=world.moto_endpoint, verify=world.ca_bundle)
    assert client.get_secret_value(SecretId="demo/api-token")["SecretString"] == SECRET
    identity = session.client("sts", endpoint_url=world.moto_endpoint, verify=world.ca_bundle).get_caller_identity()
    assert identity["Arn"].startswith("arn:aws:sts::123456789012:assumed-role/ira-xpart-test-role/")
    assert len(emulator.requests()) == 1  # botocore reuses the credentials for both calls


def test_output_is_version_1_json_on_stdout_only(binary, world, emulator, clean_env):
    certificate, key, _ = material(world, "ec-p256-pkcs8", False)
    result = run(binary, credential_process_args(world, certificate, key) + ["--debug"], clean_env)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == ["Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"]
    assert document["Version"] == 1
    expiration = dt.datetime.strptime(document["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    remaining = expiration - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(minutes=55) < remaining <= dt.timedelta(hours=1)
    # Debug logging says what was done and never carries the credentials.
    assert "CreateSession" in result.stderr
    for secret in (document["SecretAccessKey"], document["SessionToken"]):
        assert secret not in result.stderr


def test_der_certificate_and_session_duration(binary, world, emulator, clean_env):
    pki = world.pki / "clients"
    args = credential_process_args(world, str(pki / "direct" / "ec-p384-pkcs8.der"), str(pki / "ec-p384-pkcs8.key"))
    result = run(binary, args + ["--session-duration", "900"], clean_env)
    assert result.returncode == 0, result.stderr
    assert emulator.requests()[0]["duration_seconds"] == 900


def test_region_comes_from_the_trust_anchor_not_the_instance(binary, world, emulator, clean_env):
    """On a China-partition instance AWS_REGION says cn-north-1; the signing region must not follow it."""
    clean_env.update(AWS_REGION="cn-north-1", AWS_DEFAULT_REGION="cn-north-1",
                     AWS_ACCESS_KEY_ID="AKIAINSTANCEROLE0000", AWS_SECRET_ACCESS_KEY="instance-secret")
    certificate, key, _ = material(world, "ec-p256-sec1", False)
    result = run(binary, credential_process_args(world, certificate, key) + ["--debug"], clean_env)
    assert result.returncode == 0, result.stderr
    assert "region=us-west-2" in result.stderr
    assert json.loads(result.stdout)["AccessKeyId"] != "AKIAINSTANCEROLE0000"


def test_explicit_endpoint_wins_over_the_environment(binary, world, emulator, clean_env):
    clean_env["AWS_ENDPOINT_URL_ROLESANYWHERE"] = "https://127.0.0.1:9"  # nothing listens there
    certificate, key, _ = material(world, "ec-p256-sec1", False)
    result = run(binary, credential_process_args(world, certificate, key) + ["--endpoint", world.emulator_endpoint], clean_env)
    assert result.returncode == 0, result.stderr


def test_generic_endpoint_variable_is_honoured(binary, world, emulator, clean_env):
    del clean_env["AWS_ENDPOINT_URL_ROLESANYWHERE"]
    clean_env["AWS_ENDPOINT_URL"] = world.emulator_endpoint
    certificate, key, _ = material(world, "ec-p256-sec1", False)
    result = run(binary, credential_process_args(world, certificate, key), clean_env)
    assert result.returncode == 0, result.stderr
    assert len(emulator.requests()) == 1


def test_without_the_ca_bundle_tls_fails_with_the_fix(binary, world, clean_env):
    del clean_env["AWS_CA_BUNDLE"]
    certificate, key, _ = material(world, "ec-p256-sec1", False)
    result = run(binary, credential_process_args(world, certificate, key), clean_env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "TLS with 127.0.0.1 failed" in result.stderr
    assert "AWS_CA_BUNDLE" in result.stderr


class ConnectProxy:
    """A minimal HTTPS (CONNECT) proxy on loopback that counts the tunnels it opened (or, with
    `refuse`, the CONNECTs it answered with that status, as a proxy whose rules forbid the host)."""

    def __init__(self, refuse: int | None = None):
        self.refuse = refuse
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.port = self.server.getsockname()[1]
        self.tunnels: list[str] = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def serve(self, client: socket.socket):
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = client.recv(4096)
            if not chunk:
                return
            request += chunk
        target = request.split(b" ")[1].decode()
        self.tunnels.append(target)
        if self.refuse:
            client.sendall(f"HTTP/1.1 {self.refuse} Forbidden\r\nContent-Length: 0\r\n\r\n".encode())
            client.close()
            return
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def pipe(source, sink):
            try:
                while data := source.recv(65536):
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                sink.close()

        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        pipe(client, upstream)

    def close(self):
        self.server.close()


def test_https_proxy_and_no_proxy(binary, world, emulator, clean_env):
    proxy = ConnectProxy()
    try:
        certificate, key, _ = material(world, "ec-p256-sec1", False)
        clean_env["HTTPS_PROXY"] = f"http://127.0.0.1:{proxy.port}"
        result = run(binary, credential_process_args(world, certificate, key), clean_env)
        assert result.returncode == 0, result.stderr
        assert proxy.tunnels == [world.emulator_endpoint.removeprefix("https://")]

        clean_env["NO_PROXY"] = "127.0.0.1"
        result = run(binary, credential_process_args(world, certificate, key), clean_env)
        assert result.returncode == 0, result.stderr
        assert len(proxy.tunnels) == 1  # NO_PROXY bypassed the proxy
        assert len(emulator.requests()) == 2
    finally:
        proxy.close()


def test_a_proxy_that_refuses_is_named_and_not_asked_again(binary, world, clean_env):
    """Row: the HTTPS proxy answers 403 to CONNECT (its rules forbid the host) | one request, not retried: the error names the proxy, its answer and the host, and says to allow the host or list it in NO_PROXY"""
    proxy = ConnectProxy(refuse=403)
    try:
        certificate, key, _ = material(world, "ec-p256-sec1", False)
        clean_env["HTTPS_PROXY"] = f"http://127.0.0.1:{proxy.port}"
        result = run(binary, credential_process_args(world, certificate, key), clean_env)
        assert result.returncode != 0
        assert f"the proxy http://127.0.0.1:{proxy.port} (HTTPS_PROXY) refused to tunnel to 127.0.0.1 (HTTP 403)" in result.stderr, result.stderr
        assert "NO_PROXY" in result.stderr
        assert len(proxy.tunnels) == 1, proxy.tunnels  # a refusal is not retried
    finally:
        proxy.close()


def test_a_renewed_certificate_on_disk_is_used(binary, world, emulator, clean_env, tmp_path):
    pki = world.pki / "clients"
    certificate, key = tmp_path / "client.crt", tmp_path / "client.key"
    for name in ("ec-p256-sec1", "rsa2048-pkcs8"):
        certificate.write_bytes((pki / "direct" / f"{name}.crt").read_bytes())
        key.write_bytes((pki / f"{name}.key").read_bytes())
        result = run(binary, credential_process_args(world, str(certificate), str(key)), clean_env)
        assert result.returncode == 0, result.stderr
    first, second = emulator.requests()
    assert first["serial"] != second["serial"]
    assert (first["algorithm"], second["algorithm"]) == ("AWS4-X509-ECDSA-SHA256", "AWS4-X509-RSA-SHA256")
