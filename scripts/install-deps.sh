#!/usr/bin/env bash
# Installs what building and testing secret-sync needs on Debian 12 / Ubuntu 24.04:
# the C libraries (OpenSSL 3, libcurl) and the Python packages of the local AWS test world.
# The Swift toolchain itself is expected on PATH. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libssl-dev libcurl4-openssl-dev openssl util-linux)
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

python3 -m pip install --quiet --disable-pip-version-check -r testworld/requirements.txt
