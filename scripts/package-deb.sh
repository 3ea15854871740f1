#!/usr/bin/env bash
# Builds the Debian package dist/secret-sync_VERSION-1_ARCH.deb with dpkg-deb: the release
# binary, the systemd units (installed, not enabled), the hardware-key drop-in as an opt-in,
# man pages secret-sync(1), one per subcommand and secret-sync-manifest(5), bash/zsh/fish
# completions, /etc/secret-sync/manifest.yaml as a conffile, /var/lib/secret-sync (0700).
# Depends: is computed from the binary by dpkg-shlibdeps, plus libcurl4 (loaded with dlopen) and
# procps (/bin/kill in the daemon unit).
#   scripts/package-deb.sh            # builds dist/secret-sync first if needed
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x dist/secret-sync ] || scripts/release.sh
version=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/SecretSync/Support/Version.swift)
grep -q "^## \[$version\]" CHANGELOG.md || { echo "CHANGELOG.md has no section for $version" >&2; exit 1; }
revision=1
arch=$(dpkg --print-architecture)
date=$(git log -1 --format=%cd --date=format:%Y-%m-%d 2>/dev/null || date -u +%Y-%m-%d)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/share/secret-sync" \
  "$root/usr/share/doc/secret-sync/examples" "$root/usr/share/man/man1" "$root/usr/share/man/man5" \
  "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
  "$root/usr/share/fish/vendor_completions.d" "$root/etc/secret-sync"

install -m 0755 dist/secret-sync "$root/usr/bin/secret-sync"

# Units: the binary in /usr/bin. A package cannot know where the manifest writes, so its units
# keep /usr and /boot read-only (ProtectSystem=true) instead of the whole system with a list of
# writable paths; `systemctl edit` can tighten them (docs: README, "The Debian package").
for unit in secret-sync.service secret-sync.timer secret-sync-daemon.service; do
  sed -e 's#/usr/local/bin/secret-sync#/usr/bin/secret-sync#g' -e 's#^ProtectSystem=strict#ProtectSystem=true#' \
      -e '/^ReadWritePaths=/d' "deploy/systemd/$unit" > "$root/lib/systemd/system/$unit"
  chmod 0644 "$root/lib/systemd/system/$unit"
done
install -m 0644 deploy/systemd-dropins/hardware-keys.conf "$root/usr/share/secret-sync/hardware-keys.conf"
# Installed manifests point editors at the installed schema.
schema_line='1s#\$schema=.*#$schema=/usr/share/secret-sync/manifest.schema.json#'
for example in examples/*.yaml; do
  sed "$schema_line" "$example" > "$root/usr/share/doc/secret-sync/examples/$(basename "$example")"
  chmod 0644 "$root/usr/share/doc/secret-sync/examples/$(basename "$example")"
done
install -m 0644 docs/manifest.schema.json "$root/usr/share/secret-sync/manifest.schema.json"
sed "$schema_line" examples/manifest.yaml > "$root/etc/secret-sync/manifest.yaml"
chmod 0600 "$root/etc/secret-sync/manifest.yaml"

# Man pages: secret-sync(1) and one per subcommand from the argument-parser definitions (its
# generate-manual plugin), secret-sync-manifest(5) from docs/MANIFEST.md.
scripts/man-pages.sh "$stage/man" "$date" >/dev/null
for page in "$stage"/man/*.1; do gzip -9n < "$page" > "$root/usr/share/man/man1/$(basename "$page").gz"; done
gzip -9n < "$stage/man/secret-sync-manifest.5" > "$root/usr/share/man/man5/secret-sync-manifest.5.gz"

# bash sources its completions: no #! line.
dist/secret-sync --generate-completion-script bash | sed '1{/^#!/d}' > "$root/usr/share/bash-completion/completions/secret-sync"
dist/secret-sync --generate-completion-script zsh > "$root/usr/share/zsh/vendor-completions/_secret-sync"
dist/secret-sync --generate-completion-script fish > "$root/usr/share/fish/vendor_completions.d/secret-sync.fish"

install -m 0644 packaging/copyright "$root/usr/share/doc/secret-sync/copyright"
install -d -m 0755 "$root/usr/share/lintian/overrides"
install -m 0644 packaging/lintian-overrides "$root/usr/share/lintian/overrides/secret-sync"
gzip -9n < CHANGELOG.md > "$root/usr/share/doc/secret-sync/changelog.gz"
{
  echo "secret-sync ($version-$revision) unstable; urgency=medium"
  echo
  echo "  * Release $version; see /usr/share/doc/secret-sync/changelog.gz."
  echo
  echo " -- secret-sync maintainers <maintainers@secret-sync.invalid>  $(date -u -d "$date" '+%a, %d %b %Y 00:00:00 +0000')"
} | gzip -9n > "$root/usr/share/doc/secret-sync/changelog.Debian.gz"
find "$root" -type d -exec chmod 0755 {} +
chmod 0700 "$root/etc/secret-sync"

# Depends from the binary's needed libraries; libcurl is dlopen'ed, so named here. Ubuntu 24.04
# renamed libssl3 and libcurl4 (the 64-bit time_t transition): either name will do.
mkdir -p "$stage/debian"
printf 'Source: secret-sync\n\nPackage: secret-sync\nArchitecture: any\n' > "$stage/debian/control"
shlibs=$(cd "$stage" && dpkg-shlibdeps -O -e"$root/usr/bin/secret-sync" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
shlibs=$(echo "$shlibs" | sed -E 's/libssl3( \([^)]*\))?/libssl3\1 | libssl3t64/')
# procps: the daemon unit reloads with /bin/kill, which a minimal system lacks.
depends="$shlibs, libcurl4 (>= 7.85) | libcurl4t64, procps"

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: secret-sync
Version: $version-$revision
Architecture: $arch
Maintainer: secret-sync maintainers <maintainers@secret-sync.invalid>
Installed-Size: $installed_size
Depends: $depends
Recommends: ca-certificates
Suggests: tpm2-openssl, p11-kit-modules
Section: admin
Priority: optional
Description: sync AWS secrets to files and environments through IAM Roles Anywhere
 secret-sync reads secrets from AWS Secrets Manager and parameters from
 Parameter Store, authenticating with an X.509 certificate through IAM Roles
 Anywhere (keys in files, PKCS#11 tokens or a TPM). It writes them to files
 atomically with owner, group and mode and runs reload hooks when they change,
 or passes them to an application's environment. One binary serves a systemd
 timer, boot scripts, and a daemon that can also hand credentials to local
 programs.
CONTROL
echo /etc/secret-sync/manifest.yaml > "$root/DEBIAN/conffiles"
install -m 0755 packaging/postinst packaging/prerm packaging/postrm "$root/DEBIAN/"

mkdir -p dist
output="dist/secret-sync_${version}-${revision}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$output" >/dev/null
echo "$output: $(stat -c %s "$output") bytes; Depends: $depends"
