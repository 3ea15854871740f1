#!/usr/bin/env bash
# Proves the README's two commands on a stock Debian 12, as a newcomer would meet them: a fresh
# tree made with mmdebstrap from Debian's archive holding only what swift.org lists for Swift on
# Debian 12 (its system Python, no pip, PEP 668), this machine's Swift toolchain on PATH
# (bind-mounted read-only), and a clean copy of the repository's committed tree (git archive of
# HEAD). Inside it, scripts/demo.sh (which installs the dependencies itself) and then
# scripts/test.sh run; their exit status is this script's.
#
# Needs root, mmdebstrap and Debian's archive; the Swift packages resolve offline when this machine
# maps github.com to a local mirror in /etc/gitconfig (the mirror is bind-mounted too).
#   scripts/check-stock-debian.sh [--tree DIR] [--swift DIR] [-- ARGS FOR scripts/test.sh]
#   --tree DIR   where to make the tree (default: a new directory under /var/tmp; removed at the end)
#   --swift DIR  the toolchain whose usr/bin holds swift (default: found from `command -v swift`)
set -euo pipefail
cd "$(dirname "$0")/.."

tree=
swift_root=
while [ $# -gt 0 ]; do
  case $1 in
    --tree) tree=$2; shift 2 ;;
    --swift) swift_root=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "check-stock-debian: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "check-stock-debian: run as root (it makes and enters a Debian tree)" >&2; exit 2; }
command -v mmdebstrap >/dev/null || { echo "check-stock-debian: needs mmdebstrap (apt-get install mmdebstrap)" >&2; exit 2; }
if [ -z "$swift_root" ]; then
  swift=$(command -v swift) || { echo "check-stock-debian: no swift on PATH; give --swift DIR" >&2; exit 2; }
  swift_root=$(dirname "$(dirname "$(dirname "$(readlink -f "$swift")")")")
fi
[ -x "$swift_root/usr/bin/swift" ] || { echo "check-stock-debian: no $swift_root/usr/bin/swift" >&2; exit 2; }

made_tree=no
if [ -z "$tree" ]; then
  tree=$(mktemp -d /var/tmp/secret-sync-stock-debian.XXXXXX)
  made_tree=yes
fi
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

mounts=()
cleanup() {
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null || true; done
  if [ "$made_tree" = yes ]; then rm -rf --one-file-system "$tree"; fi
}
trap cleanup EXIT
bind() { # bind SOURCE TARGET [ro]
  mkdir -p "$2"
  mount --bind "$1" "$2"
  mounts+=("$2")
  if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2"; fi
}

# What swift.org lists for the Swift toolchain on Debian 12; nothing of secret-sync's own.
swift_dependencies=binutils-gold,gcc,git,libcurl4-openssl-dev,libedit-dev,libicu-dev,libncurses-dev,libpython3-dev,libsqlite3-dev,libstdc++-12-dev,libxml2-dev,pkg-config,tzdata,uuid-dev
if [ ! -x "$tree/usr/bin/git" ]; then
  echo "== making a stock Debian 12 tree in $tree (mmdebstrap, variant minbase, swift.org's dependencies)"
  mmdebstrap --variant=minbase --include="$swift_dependencies" bookworm "$tree" "deb $mirror bookworm main" \
    "deb $mirror bookworm-updates main" "deb ${mirror%/debian}/debian-security bookworm-security main"
fi
if "$tree/usr/bin/python3" -m pip --version >/dev/null 2>&1; then
  echo "check-stock-debian: the tree has pip; it is not the stock system the check is for" >&2
  exit 1
fi

# The tree's root a mount point of its own, as / is on any machine (`unshare -m` needs it).
bind "$tree" "$tree"
bind /proc "$tree/proc"
bind /sys "$tree/sys"
bind /dev "$tree/dev"
bind /dev/pts "$tree/dev/pts"
mkdir -p "$tree/tmp" && chmod 1777 "$tree/tmp"
bind "$swift_root" "$tree/opt/swift" ro
cp -L /etc/resolv.conf "$tree/etc/resolv.conf"
# This machine's way to the Swift packages (github.com mapped to a local mirror), and to PyPI
# (a CA bundle and a wheel cache it names), as any machine of its kind has them.
if [ -f /etc/gitconfig ]; then
  cp /etc/gitconfig "$tree/etc/gitconfig"
  mirror_dir=$(git config --system --get-regexp '^url\..*\.insteadof$' 2>/dev/null | sed -n 's/^url\.\(\/[^ ]*\)\.insteadof .*/\1/p' | head -1 || true)
  if [ -n "$mirror_dir" ] && [ -d "$mirror_dir" ]; then bind "$mirror_dir" "$tree$mirror_dir" ro; fi
fi
# A CA this machine's network needs (a TLS-inspecting egress proxy, say) is one the tree needs too:
# ca-certificates, when install-deps.sh installs it, takes what is in /usr/local/share/ca-certificates.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$tree/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$tree/usr/local/share/ca-certificates/"
fi
pip_environment=()
for variable in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_CERT PIP_FIND_LINKS PIP_DEFAULT_TIMEOUT; do
  value=${!variable:-}
  [ -n "$value" ] || continue
  pip_environment+=("$variable=$value")
  if [ "$variable" = PIP_FIND_LINKS ] && [ -d "$value" ]; then bind "$value" "$tree$value" ro; fi
done

echo "== a clean copy of $(git rev-parse --short HEAD) in the tree (committed files only)"
rm -rf "$tree/work/secret-sync" && mkdir -p "$tree/work/secret-sync"
git archive HEAD | tar -x -C "$tree/work/secret-sync"

inside=(env -i HOME=/root TERM=dumb LANG=C.UTF-8 PATH=/opt/swift/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  "${pip_environment[@]}")
echo "== scripts/demo.sh in the stock tree"
chroot "$tree" "${inside[@]}" bash -c 'cd /work/secret-sync && scripts/demo.sh'
echo "== scripts/test.sh in the stock tree"
chroot "$tree" "${inside[@]}" bash -c 'cd /work/secret-sync && scripts/test.sh "$@"' test.sh "$@"
echo "== the README's two commands passed on a stock Debian 12"
