#!/usr/bin/env bash
# Installs what building and testing secret-sync needs on Debian 12 / Ubuntu 24.04:
# the C libraries (OpenSSL 3, libcurl, libyaml) from apt, and the Python packages of the local AWS
# test world in a virtual environment (.venv, or $SECRET_SYNC_VENV) — never into the system's
# Python, which Debian 12 and Ubuntu 24.04 refuse (PEP 668). The Swift toolchain itself is
# expected on PATH. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# libp11-kit-dev: the PKCS#11 header (nothing is linked). The rest are for the hardware-key tests:
# a SoftHSM2 token provisioned with GnuTLS's p11tool/certtool (and OpenSC's pkcs11-tool for a key
# that wants the PIN at every signature), OpenSC's pkcs11-spy to count logins,
# p11-kit's proxy module, a swtpm TPM with the tpm2-openssl provider and tpm2-tools to provision it;
# faketime slows the wall clock for the test that hook timeouts follow the monotonic clock;
# dpkg-dev, lintian, man-db and systemd build, check and install the Debian package;
# python3 and python3-venv hold the test world's virtual environment; procps has kill and pkill
# (the units' ExecReload, the tests), which a minimal system lacks.
packages=(ca-certificates python3 python3-venv procps libssl-dev libcurl4-openssl-dev libyaml-dev libp11-kit-dev openssl util-linux
  softhsm2 gnutls-bin opensc opensc-pkcs11 p11-kit p11-kit-modules swtpm tpm2-tools tpm2-openssl libtss2-tcti-swtpm0 faketime
  dpkg-dev lintian man-db systemd)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

venv=${SECRET_SYNC_VENV:-$PWD/.venv}
if [ ! -x "$venv/bin/python3" ]; then
  echo "install-deps: making the test world's Python environment in $venv"
  python3 -m venv "$venv"
fi
"$venv/bin/python3" -m pip install --quiet --disable-pip-version-check -r testworld/requirements.txt
