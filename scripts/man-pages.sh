#!/usr/bin/env bash
# Writes the man pages to DIR: secret-sync(1) and one page per subcommand, generated from the
# argument-parser definitions by its generate-manual plugin, and secret-sync-manifest(5) from
# docs/MANIFEST.md (scripts/manpage-from-markdown.py).
#   scripts/man-pages.sh DIR [DATE]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1
date=${2:-$(git log -1 --format=%cd --date=format:%Y-%m-%d 2>/dev/null || date -u +%Y-%m-%d)}
version=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/SecretSync/Support/Version.swift)
mkdir -p "$out"
rm -rf .build/plugins/GenerateManual/outputs
swift package --allow-writing-to-package-directory generate-manual --multi-page --date "$date" --configuration debug \
  --authors "the secret-sync authors" >/dev/null
pages=$(find .build/plugins/GenerateManual/outputs -name 'secret-sync*.1')
[ -n "$pages" ] || { echo "generate-manual made no pages" >&2; exit 1; }
# One page per subcommand, named as git's are: secret-sync-once(1) (the plugin writes secret-sync.once.1).
for page in $pages; do
  name=$(basename "$page" .1)
  case $name in *.help) continue ;; esac
  target=${name//./-}
  upper=$(echo "$name" | tr 'a-z' 'A-Z')
  # The NAME line names the page (secret-sync-once, as whatis and lintian want); the synopsis
  # keeps the command as it is typed; blank lines, which groff warns about, become paragraphs.
  sed -e "s/^\.Dt ${upper//./\\.} /.Dt $(echo "$target" | tr 'a-z' 'A-Z') /" \
      -e "s/^\.Nm \"secret-sync \([a-z-]*\)\"$/.Nm secret-sync-\1/" \
      -e "/^\.Sh SYNOPSIS$/{n;s/^\.Nm$/.Nm \"secret-sync ${name#secret-sync.}\"/;}" \
      -e 's/^$/.Pp/' "$page" > "$out/$target.1"
done
# The main page's SEE ALSO: the subcommands' pages by their names, and the manifest's.
python3 - "$out/secret-sync.1" <<'PYTHON'
import re, sys
path = sys.argv[1]
page = open(path).read()
page = re.sub(r"^\.Xr secret-sync\.help 1 ,?\n", "", page, flags=re.M)
page = re.sub(r"^\.Xr secret-sync\.([a-z-]+) 1", r".Xr secret-sync-\1 1", page, flags=re.M)
see_also = page.index('.Sh "SEE ALSO"')
last = max(m.end() for m in re.finditer(r"^\.Xr secret-sync-[a-z-]+ 1$", page, flags=re.M))
page = page[:last] + " ,\n.Xr secret-sync-manifest 5" + page[last:]
open(path, "w").write(page)
PYTHON
python3 scripts/manpage-from-markdown.py docs/MANIFEST.md "$version" "$date" > "$out/secret-sync-manifest.5"
ls "$out"
