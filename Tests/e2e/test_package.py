"""The Debian package as an Ubuntu/Debian operator meets it: built by scripts/package-deb.sh,
checked by lintian, installed, upgraded over itself, removed and purged on this machine (as root)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

UNITS = ["secret-sync.service", "secret-sync.timer", "secret-sync-daemon.service"]


def sh(*command: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(list(command), capture_output=True, text=True, timeout=1800, env=env)
    if check:
        assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def package() -> Path:
    assert os.geteuid() == 0, "installing a package needs root"
    for tool in ("dpkg-deb", "dpkg-shlibdeps", "lintian", "systemd-analyze", "man"):
        assert sh("sh", "-c", f"command -v {tool}", check=False).returncode == 0, f"{tool} is missing (scripts/install-deps.sh)"
    output = sh(str(REPO / "scripts" / "package-deb.sh")).stdout
    path = REPO / output.split(":")[0].strip()
    assert path.exists(), output
    yield path
    sh("dpkg", "--purge", "secret-sync", check=False)


def test_lintian_finds_no_errors(package):
    result = sh("lintian", "--fail-on", "error", "--no-tag-display-limit", str(package), check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_control_file_names_what_the_binary_needs(package):
    control = sh("dpkg-deb", "--field", str(package)).stdout
    version = re.search(r"^Version: (.*)$", control, re.M).group(1)
    assert version.startswith("0.1.0-")
    assert f"## [{version.split('-')[0]}]" in (REPO / "CHANGELOG.md").read_text()
    depends = re.search(r"^Depends: (.*)$", control, re.M).group(1)
    for library in ("libc6", "libssl3", "libcurl4", "libstdc++6"):
        assert library in depends, depends
    contents = sh("dpkg-deb", "--contents", str(package)).stdout
    for path in ["./usr/bin/secret-sync", "./etc/secret-sync/manifest.yaml", "./usr/share/man/man5/secret-sync-manifest.5.gz",
                 "./usr/share/man/man1/secret-sync.1.gz", "./usr/share/man/man1/secret-sync-once.1.gz",
                 "./usr/share/bash-completion/completions/secret-sync", "./usr/share/zsh/vendor-completions/_secret-sync",
                 "./usr/share/fish/vendor_completions.d/secret-sync.fish", "./usr/share/secret-sync/hardware-keys.conf",
                 "./usr/share/doc/secret-sync/copyright"] + [f"./lib/systemd/system/{unit}" for unit in UNITS]:
        assert path in contents, path
    assert "/etc/secret-sync/manifest.yaml" in sh("dpkg-deb", "--info", str(package), "conffiles").stdout


def test_install_upgrade_remove_and_purge(package, world, tmp_path):
    sh("dpkg", "--install", str(package))
    try:
        version = sh("/usr/bin/secret-sync", "--version").stdout
        assert version.startswith("0.1.0 (commit "), version
        assert stat.S_IMODE(os.stat("/var/lib/secret-sync").st_mode) == 0o700
        assert stat.S_IMODE(os.stat("/etc/secret-sync/manifest.yaml").st_mode) == 0o600
        # Installed, not enabled.
        assert not any(Path("/etc/systemd/system").rglob("secret-sync*"))
        for unit in UNITS:
            result = sh("systemd-analyze", "verify", "--man=no", f"/lib/systemd/system/{unit}", check=False)
            problems = [line for line in result.stderr.splitlines() if unit in line]
            assert not problems, result.stderr
        assert "secret-sync-manifest.5" in sh("man", "-w", "secret-sync-manifest").stdout
        assert "fallback_regions" in sh("sh", "-c", "MANWIDTH=100 man secret-sync-manifest 2>/dev/null").stdout
        assert "secret-sync-once" in sh("man", "-w", "secret-sync-once").stdout
        completion = sh("bash", "-c", "source /usr/share/bash-completion/completions/secret-sync && complete -p secret-sync").stdout
        assert "secret-sync" in completion
        # The installed binary validates a manifest.
        pki = world.pki / "clients"
        manifest = tmp_path / "manifest.yaml"
        d = world.description()
        manifest.write_text(
            "version: 1\nauth:\n  roles_anywhere:\n"
            f"    certificate: {pki / 'chained' / 'ec-p256-sec1.crt'}\n    private_key: {pki / 'ec-p256-sec1.key'}\n"
            f"    intermediates: {pki / 'chain.pem'}\n    trust_anchor_arn: {d['trust_anchor_arn']}\n"
            f"    profile_arn: {d['profile_arn']}\n    role_arn: {d['role_arn']}\n"
            f"secrets:\n  - id: demo/db\n    files:\n      - path: {tmp_path / 'db'}\n")
        manifest.chmod(0o600)
        assert "valid (1 secret)" in sh("/usr/bin/secret-sync", "validate", "-c", str(manifest)).stdout

        # An upgrade over itself keeps the administrator's manifest (a conffile).
        Path("/etc/secret-sync/manifest.yaml").write_text("# the administrator's own\n")
        sh("dpkg", "--install", str(package))
        assert Path("/etc/secret-sync/manifest.yaml").read_text() == "# the administrator's own\n"

        # remove: the binary goes, the configuration and the state stay; purge: those go too.
        sh("dpkg", "--remove", "secret-sync")
        assert not Path("/usr/bin/secret-sync").exists()
        assert Path("/etc/secret-sync/manifest.yaml").exists() and Path("/var/lib/secret-sync").exists()
        sh("dpkg", "--purge", "secret-sync")
        assert not Path("/etc/secret-sync").exists() and not Path("/var/lib/secret-sync").exists()
        assert "secret-sync" not in sh("dpkg-query", "-W", "-f=${Package} ${Status}\\n", check=False).stdout.replace("secret-sync deinstall", "")
    finally:
        sh("dpkg", "--purge", "secret-sync", check=False)
