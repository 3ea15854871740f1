#!/usr/bin/env bash
# The release binary: one file, the Swift runtime and Foundation linked in statically, stripped.
# It needs only the base libraries of a stock Ubuntu 24.04 / Debian 12 (libssl3, libcurl4, libc,
# libstdc++). Writes dist/secret-sync and prints its size and dynamic dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --scratch-path .build-release 2>&1 | tail -1
mkdir -p dist
cp .build-release/release/secret-sync dist/secret-sync.tmp
strip dist/secret-sync.tmp
mv dist/secret-sync.tmp dist/secret-sync
echo "dist/secret-sync: $(stat -c %s dist/secret-sync) bytes ($(du -h dist/secret-sync | cut -f1))"
echo "needs: $(readelf -d dist/secret-sync | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
