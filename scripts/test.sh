#!/usr/bin/env bash
# Runs every test: the Swift unit tests, then the end-to-end suite, which builds on the built
# binary and starts and stops the local AWS world (moto + the Roles Anywhere emulator) itself.
# Prerequisites: scripts/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=python-env.sh
source scripts/python-env.sh

for tool in swift python3 openssl moto_server aws; do
  command -v "$tool" >/dev/null || { echo "test: $tool not found; run scripts/install-deps.sh" >&2; exit 2; }
done

swift build
swift test
python3 -m pytest -p no:cacheprovider Tests/e2e "$@"
