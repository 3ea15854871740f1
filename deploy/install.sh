#!/usr/bin/env bash
# Installs secret-sync on an instance: the binary, the systemd units, a manifest skeleton and the
# directories for the Roles Anywhere certificate and the state, with their owners and modes.
# Re-running it is harmless: it never overwrites an existing manifest or certificate.
#
#   sudo deploy/install.sh [--binary PATH] [--timer | --daemon | --no-enable] [--hardware-keys]
#
# --hardware-keys adds a drop-in to both services that lets them reach /dev/tpmrm0 and USB tokens,
# for a Roles Anywhere key held in a TPM or a PKCS#11 token.
#
# DESTDIR=/some/root installs into another root (packaging, tests); nothing is enabled then.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
binary=${here}/../dist/secret-sync
mode=timer
hardware_keys=no
while [ $# -gt 0 ]; do
  case $1 in
    --binary) binary=$2; shift 2 ;;
    --timer) mode=timer; shift ;;
    --daemon) mode=daemon; shift ;;
    --no-enable) mode=none; shift ;;
    --hardware-keys) hardware_keys=yes; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
root=${DESTDIR:-}
[ -x "$binary" ] || { echo "install.sh: no executable secret-sync at $binary (build it with scripts/release.sh, or pass --binary)" >&2; exit 2; }
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then echo "install.sh: run as root" >&2; exit 2; fi

install -d -m 0755 "$root/usr/local/bin" "$root/etc/systemd/system"
install -m 0755 "$binary" "$root/usr/local/bin/secret-sync.new"
mv -f "$root/usr/local/bin/secret-sync.new" "$root/usr/local/bin/secret-sync"   # atomic replace
for unit in secret-sync.service secret-sync.timer secret-sync-daemon.service; do
  install -m 0644 "$here/systemd/$unit" "$root/etc/systemd/system/$unit"
done
if [ "$hardware_keys" = yes ]; then
  for unit in secret-sync.service secret-sync-daemon.service; do
    install -d -m 0755 "$root/etc/systemd/system/$unit.d"
    install -m 0644 "$here/systemd-dropins/hardware-keys.conf" "$root/etc/systemd/system/$unit.d/hardware-keys.conf"
  done
fi

# A directory secret-sync trusts, root's with MODE: an existing one is taken back, since whoever
# owns or may write the state or the certificate directory decides what secret-sync does as root
# (secret-sync refuses such a directory). A symlink in its place is refused, not followed.
# Installing into a DESTDIR as another user keeps that user as the owner.
root_directory() {
  if [ -L "$2" ]; then echo "install.sh: $2 is a symbolic link; remove it (secret-sync keeps its files in a real directory)" >&2; exit 1; fi
  if [ "$(id -u)" -eq 0 ]; then install -d -m "$1" -o 0 -g 0 "$2"; else install -d -m "$1" "$2"; fi
}
# The certificate directory: root only. Put client.crt (0644), client.key (0600) and chain.pem here.
root_directory 0700 "$root/etc/ira"
root_directory 0755 "$root/etc/secret-sync"
root_directory 0700 "$root/var/lib/secret-sync"
if [ ! -e "$root/etc/secret-sync/manifest.yaml" ]; then
  install -m 0600 "$here/../examples/manifest.yaml" "$root/etc/secret-sync/manifest.yaml"
  echo "install.sh: wrote /etc/secret-sync/manifest.yaml from examples/manifest.yaml: edit it, then run secret-sync validate"
else
  echo "install.sh: kept the existing /etc/secret-sync/manifest.yaml"
fi

if [ -n "$root" ] || [ "$mode" = none ]; then
  echo "install.sh: installed into ${root:-/}; nothing enabled"
  exit 0
fi
systemctl daemon-reload
case $mode in
  timer) systemctl disable --now secret-sync-daemon.service 2>/dev/null || true
         systemctl enable secret-sync.service secret-sync.timer
         echo "install.sh: enabled secret-sync.timer; start it with: systemctl start secret-sync.timer" ;;
  daemon) systemctl disable --now secret-sync.timer 2>/dev/null || true
          systemctl enable secret-sync-daemon.service
          echo "install.sh: enabled secret-sync-daemon.service; start it with: systemctl start secret-sync-daemon" ;;
esac
