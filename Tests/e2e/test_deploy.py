"""deploy/: systemd units, install.sh, cloud-init, the commercial-side CloudFormation and PKI; the release binary."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import REPO

DEPLOY = REPO / "deploy"


def localised(unit: str, binary: Path) -> str:
    """The unit with this machine's paths, so systemd-analyze can check the commands exist."""
    return (unit.replace("/usr/local/bin/secret-sync", str(binary)).replace("/usr/local/bin/myapp", "/bin/true"))


@pytest.mark.parametrize("name", sorted(p.name for p in (DEPLOY / "systemd").iterdir()))
def test_units_verify(name, binary, tmp_path):
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    for unit in (DEPLOY / "systemd").iterdir():
        (unit_dir / unit.name).write_text(localised(unit.read_text(), binary))
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit_dir / name)], capture_output=True, text=True,
                            env={**os.environ, "SYSTEMD_UNIT_PATH": f"{unit_dir}:"})
    # systemd-analyze reports other units it loads (e.g. dependencies missing in this container); only this unit counts.
    problems = [line for line in result.stderr.splitlines() if line.startswith(name) or f"/{name}:" in line]
    assert result.returncode == 0 or not problems, result.stderr
    assert not problems, result.stderr


def test_the_application_unit_uses_the_credentials_endpoint_and_never_instance_metadata():
    app = (DEPLOY / "systemd" / "myapp-with-credentials.service").read_text()
    assert "Environment=AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:911/credentials" in app
    assert "Environment=AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/run/secret-sync/credentials.token" in app
    assert "Environment=AWS_EC2_METADATA_DISABLED=true" in app
    daemon = (DEPLOY / "systemd" / "secret-sync-daemon.service").read_text()
    assert "RuntimeDirectory=secret-sync" in daemon


def test_units_say_what_the_issue_asks():
    service = (DEPLOY / "systemd" / "secret-sync.service").read_text()
    timer = (DEPLOY / "systemd" / "secret-sync.timer").read_text()
    daemon = (DEPLOY / "systemd" / "secret-sync-daemon.service").read_text()
    app = (DEPLOY / "systemd" / "myapp.service").read_text()
    assert "Type=oneshot" in service and "secret-sync once" in service and "--timeout" in service
    for key in ("OnBootSec=", "OnUnitActiveSec=", "RandomizedDelaySec="):
        assert key in timer
    assert "Type=notify" in daemon and "ExecReload=/bin/kill -HUP $MAINPID" in daemon
    assert "After=secret-sync.service" in app and "Wants=secret-sync.service" in app
    for unit in (service, daemon):
        for hardening in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "CapabilityBoundingSet=CAP_CHOWN CAP_FOWNER"):
            assert hardening in unit


def test_install_is_idempotent_and_keeps_an_existing_manifest(tmp_path, binary):
    root = tmp_path / "root"
    env = {**os.environ, "DESTDIR": str(root)}
    first = subprocess.run([str(DEPLOY / "install.sh"), "--binary", str(binary)], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "wrote /etc/secret-sync/manifest.yaml" in first.stdout
    mode = lambda p: stat.S_IMODE((root / p).stat().st_mode)
    assert mode("usr/local/bin/secret-sync") == 0o755
    assert mode("etc/ira") == 0o700 and mode("var/lib/secret-sync") == 0o700
    assert mode("etc/secret-sync/manifest.yaml") == 0o600
    for unit in ("secret-sync.service", "secret-sync.timer", "secret-sync-daemon.service"):
        assert mode(f"etc/systemd/system/{unit}") == 0o644
    (root / "etc/secret-sync/manifest.yaml").write_text("# mine\n")
    second = subprocess.run([str(DEPLOY / "install.sh"), "--binary", str(binary)], env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert "kept the existing /etc/secret-sync/manifest.yaml" in second.stdout
    assert (root / "etc/secret-sync/manifest.yaml").read_text() == "# mine\n"
    assert subprocess.run([str(DEPLOY / "install.sh"), "--bogus"], env=env, capture_output=True).returncode == 2


@pytest.mark.parametrize("service", ["secret-sync.service", "secret-sync-daemon.service"])
def test_the_hardware_key_drop_in_verifies_and_opens_only_the_tpm_and_usb(service, binary, tmp_path):
    root = tmp_path / "root"
    result = subprocess.run([str(DEPLOY / "install.sh"), "--binary", str(binary), "--hardware-keys"],
                            env={**os.environ, "DESTDIR": str(root)}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    drop_in = root / "etc/systemd/system" / f"{service}.d" / "hardware-keys.conf"
    assert drop_in.read_text() == (DEPLOY / "systemd-dropins" / "hardware-keys.conf").read_text()
    unit_dir = tmp_path / "units"
    (unit_dir / f"{service}.d").mkdir(parents=True)
    (unit_dir / service).write_text(localised((DEPLOY / "systemd" / service).read_text(), binary))
    shutil.copy(drop_in, unit_dir / f"{service}.d" / "hardware-keys.conf")
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit_dir / service)], capture_output=True, text=True,
                            env={**os.environ, "SYSTEMD_UNIT_PATH": f"{unit_dir}:"})
    problems = [line for line in result.stderr.splitlines() if service in line or "hardware-keys.conf" in line]
    assert not problems, result.stderr
    settings = [line for line in drop_in.read_text().splitlines() if line and not line.startswith(("#", "["))]
    assert settings == ["PrivateDevices=no", "DevicePolicy=closed", "DeviceAllow=/dev/tpmrm0 rw", "DeviceAllow=char-usb_device rw"]


def cloud_init_step() -> str:
    document = yaml.safe_load((DEPLOY / "cloud-init.yaml").read_text())
    assert len(document["runcmd"]) == 1, "one fail-fast step: runcmd has no set -e between steps"
    command = document["runcmd"][0]
    assert command[:2] == ["sh", "-c"]
    return command[2]


def run_cloud_init(tmp_path: Path, package: bytes, sha256: str, curl_fails: bool = False) -> tuple[subprocess.CompletedProcess, list[str], Path]:
    """Runs the example's runcmd step with stand-ins for curl, apt-get, secret-sync and systemctl
    that record their calls; the package "downloaded" is `package`, the pinned hash `sha256`."""
    stubs, scratch, calls = tmp_path / "bin", tmp_path / "tmp", tmp_path / "calls"
    stubs.mkdir()
    scratch.mkdir()
    (tmp_path / "package").write_bytes(package)
    curl = f'''#!/bin/sh
echo "curl $*" >> {calls}
{"exit 22" if curl_fails else ""}
while [ $# -gt 0 ]; do [ "$1" = -o ] && cp {tmp_path}/package "$2"; shift; done
'''
    (stubs / "curl").write_text(curl)
    for tool in ("apt-get", "secret-sync", "systemctl"):
        (stubs / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\n'
                                  + (f'for a; do case "$a" in *.deb) sha256sum "$a" >> {calls};; esac; done\n' if tool == "apt-get" else ""))
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    script = cloud_init_step().replace("PACKAGE_SHA256=SET-THIS-TO-THE-SHA-256-OF-THE-PACKAGE", f"PACKAGE_SHA256={sha256}")
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True,
                            env={"PATH": f"{stubs}:/usr/bin:/bin", "TMPDIR": str(scratch)})
    return result, (calls.read_text().splitlines() if calls.exists() else []), scratch


def test_cloud_init_installs_the_checked_package_then_syncs_then_enables_the_timer(tmp_path):
    document = yaml.safe_load((DEPLOY / "cloud-init.yaml").read_text())
    assert (DEPLOY / "cloud-init.yaml").read_text().startswith("#cloud-config\n")
    manifest = document["write_files"][0]
    assert manifest["permissions"] == "0600" and "roles_anywhere" in manifest["content"]
    package = b"the package"
    result, calls, scratch = run_cloud_init(tmp_path, package, hashlib.sha256(package).hexdigest())
    assert result.returncode == 0, result.stderr
    tools = [call.split()[0] for call in calls]
    assert tools == ["curl", "apt-get", hashlib.sha256(package).hexdigest(), "secret-sync", "systemctl", "systemctl"], calls
    assert "--proto =https" in calls[0]
    assert calls[3:] == ["secret-sync validate", "systemctl start secret-sync.service", "systemctl enable --now secret-sync.timer"]
    assert list(scratch.iterdir()) == [], "the download directory is removed"


@pytest.mark.parametrize("fault", ["a package that is not the pinned one", "a failed download", "the hash left unset"])
def test_cloud_init_runs_nothing_it_has_not_checked(tmp_path, fault):
    """A download that failed, a package that is not the pinned one, or no hash: nothing is installed or run."""
    package = b"the package"
    sha256 = {"a package that is not the pinned one": hashlib.sha256(b"another").hexdigest(),
              "a failed download": hashlib.sha256(package).hexdigest(),
              "the hash left unset": "SET-THIS-TO-THE-SHA-256-OF-THE-PACKAGE"}[fault]
    result, calls, scratch = run_cloud_init(tmp_path, package, sha256, curl_fails=fault == "a failed download")
    assert result.returncode != 0
    assert [call for call in calls if not call.startswith("curl")] == [], calls
    assert list(scratch.iterdir()) == []
    if fault == "the hash left unset":
        assert "PACKAGE_SHA256 is not a SHA-256" in result.stderr and calls == []


def test_cloudformation_template_passes_cfn_lint():
    result = subprocess.run(["cfn-lint", str(DEPLOY / "aws" / "rolesanywhere.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (DEPLOY / "aws" / "rolesanywhere.yaml").read_text()
    for required in ("AWS::RolesAnywhere::TrustAnchor", "AWS::RolesAnywhere::Profile", "rolesanywhere.amazonaws.com",
                     "sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity", "secretsmanager:GetSecretValue", "ssm:GetParameters",
                     "aws:PrincipalTag/x509Subject/CN"):
        assert required in text


def test_pki_script_makes_a_ca_roles_anywhere_accepts(tmp_path, binary):
    pki = tmp_path / "pki"
    script = DEPLOY / "aws" / "make-pki.sh"
    subprocess.run([str(script), "init", str(pki)], check=True, capture_output=True)
    subprocess.run([str(script), "issue", str(pki), "web-1"], check=True, capture_output=True)
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(pki / "ca.crt"), str(pki / "web-1.crt")], capture_output=True, text=True)
    assert verify.returncode == 0 and verify.stdout.strip().endswith("OK")
    ca = subprocess.run(["openssl", "x509", "-in", str(pki / "ca.crt"), "-noout", "-ext", "basicConstraints,keyUsage"], capture_output=True, text=True).stdout
    assert re.search(r"Basic Constraints: critical\s+CA:TRUE", ca) and "Certificate Sign" in ca
    leaf = subprocess.run(["openssl", "x509", "-in", str(pki / "web-1.crt"), "-noout", "-ext", "basicConstraints,extendedKeyUsage", "-subject"],
                          capture_output=True, text=True).stdout
    assert "CA:FALSE" in leaf and "TLS Web Client Authentication" in leaf and "CN = web-1" in leaf
    assert stat.S_IMODE((pki / "ca.key").stat().st_mode) == 0o600 and stat.S_IMODE((pki / "web-1.key").stat().st_mode) == 0o600
    assert subprocess.run([str(script), "init", str(pki)], capture_output=True).returncode == 2  # never replaces a CA


def test_release_binary_links_no_swift_runtime():
    result = subprocess.run([str(REPO / "scripts" / "release.sh")], capture_output=True, text=True, cwd=REPO, timeout=1800)
    assert result.returncode == 0, result.stdout + result.stderr
    binary = REPO / "dist" / "secret-sync"
    needed = re.findall(r"NEEDED.*\[(.*)\]", subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True).stdout)
    assert needed, "readelf found no dynamic section"
    assert not [lib for lib in needed if re.search(r"swift|Foundation|dispatch|BlocksRuntime|icu", lib, re.I)], needed
    # libcurl is dlopen'ed when a command first needs the network, so it is not among them.
    assert set(needed) <= {"libssl.so.3", "libcrypto.so.3", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1",
                           "libc.so.6", "ld-linux-x86-64.so.2", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libutil.so.1"}, needed
    # No $ORIGIN search path: a library planted next to the binary is never loaded.
    dynamic = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True).stdout
    assert "RUNPATH" not in dynamic and "RPATH" not in dynamic, dynamic
    ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    assert "/opt/swift" not in ldd and "not found" not in ldd
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert version.returncode == 0 and version.stdout.strip()
