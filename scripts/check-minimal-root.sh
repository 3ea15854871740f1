#!/usr/bin/env bash
# Proves the release binary runs on a minimal Debian 12 root with no Swift: debootstrap
# (variant minbase) plus libssl3 and libcurl4, then the binary is run inside it with chroot.
# Needs root, debootstrap (apt-get install debootstrap) and a Debian mirror; takes a few minutes.
#   scripts/check-minimal-root.sh [ROOTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x dist/secret-sync ] || scripts/release.sh
root=${1:-$(mktemp -d /tmp/secret-sync-minroot.XXXXXX)}
mirror=${DEBIAN_MIRROR:-$( { sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p; s/^deb \(http[^ ]*debian\) .*/\1/p' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null || true; } | head -1)}
mirror=${mirror:-http://deb.debian.org/debian}
if [ ! -x "$root/bin/sh" ]; then
  debootstrap --variant=minbase --include=libssl3,libcurl4,ca-certificates bookworm "$root" "$mirror"
fi
install -m 0755 dist/secret-sync "$root/usr/local/bin/secret-sync"
# Swift reads its arguments from /proc/self/cmdline: a real system always has /proc, a bare chroot not.
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
echo "== libraries in the root: $(chroot "$root" sh -c 'ls /usr/lib/x86_64-linux-gnu | grep -c .') files; Swift: $(chroot "$root" sh -c 'ls /usr/lib/swift 2>/dev/null | wc -l') files"
chroot "$root" /usr/local/bin/secret-sync --version
chroot "$root" /usr/local/bin/secret-sync --help >/dev/null
# A full code path without network: the certificate check of credential-process fails cleanly.
set +e
chroot "$root" /usr/local/bin/secret-sync credential-process --certificate /nonexistent --private-key /nonexistent \
  --trust-anchor-arn arn:aws:rolesanywhere:us-west-2:1:trust-anchor/a --profile-arn arn:aws:rolesanywhere:us-west-2:1:profile/b \
  --role-arn arn:aws:iam::1:role/r
status=$?
set -e
[ $status -eq 1 ] || { echo "unexpected exit status $status" >&2; exit 1; }
echo "== the release binary runs in a minimal Debian root with only libssl3 and libcurl4 added"
