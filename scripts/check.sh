#!/usr/bin/env bash
# The pre-push check: format lint, a build of secret-sync's own targets with warnings as errors,
# then every test (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
swift format lint --strict --recursive Sources Tests Package.swift
# In its own scratch folder so the everyday debug build is not rebuilt with other flags.
swift build --build-tests -Xswiftc -warnings-as-errors --scratch-path .build-check 2>&1 | tail -3
scripts/test.sh "$@"
