"""The command line as a newcomer meets it: help, exit codes, and commands that need only what they use."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from conftest import REPO, run
from support import ok

SUBCOMMANDS = ["once", "daemon", "run", "validate", "status", "credential-process"]


def cli(binary, *args, env=None):
    environment = dict(os.environ if env is None else env)
    environment["COLUMNS"] = "80"
    return subprocess.run([str(binary), *args], env=environment, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_run_help_shows_help(binary, flag):
    result = cli(binary, "run", flag)
    assert result.returncode == 0, result.stderr
    assert "USAGE: secret-sync run" in result.stdout, result.stdout
    assert "--pristine" in result.stdout


def test_run_passes_options_after_the_separator_to_the_command(sync, admin, names):
    admin.create_secret(Name=names("t"), SecretString="v")
    sync.write(f"- id: {names('t')}\n  env:\n    - name: T\n")
    result = run(sync.binary, ["run", "-c", str(sync.manifest), "--", "sh", "-c", 'echo "$T $0 $1"', "--help", "-c"], sync.env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "v --help -c\n"


def test_run_without_a_command_is_a_usage_error(binary):
    result = cli(binary, "run", "-c", "/nonexistent")
    assert result.returncode == 2
    assert "give the command to run after --" in result.stderr


def paragraphs(text: str) -> list[list[str]]:
    blocks, current = [], []
    for line in text.splitlines():
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_help_is_wrapped_once_at_80_columns(binary, command):
    result = cli(binary, "help", command)
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        # Preformatted examples may run long, and argument-parser never breaks its USAGE line.
        assert len(line) <= 80 or line.startswith(("    ", "USAGE:")), line
    # A paragraph of prose is filled: no line but its last stops short (ragged double wrapping).
    overview = result.stdout.split("USAGE:")[0]
    for block in paragraphs(overview):
        if block[0].startswith(("OVERVIEW:", "  ", "    ")) or len(block) == 1:
            continue
        for line in block[:-1]:
            assert len(line) >= 55, f"ragged line in `secret-sync help {command}`: {line!r}\n{result.stdout}"


def test_no_subcommand_is_a_usage_error_with_help_on_stderr(binary):
    result = cli(binary)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "USAGE: secret-sync <subcommand>" in result.stderr
    assert "once" in result.stderr


@pytest.mark.parametrize("command", ["once", "validate", "status", "daemon", "run"])
def test_a_manifest_that_does_not_exist_is_a_configuration_error(binary, command):
    args = [command, "-c", "/nonexistent/manifest.yaml"] + (["--", "true"] if command == "run" else [])
    result = cli(binary, *args)
    assert result.returncode == 2, result.stderr
    assert "cannot read manifest /nonexistent/manifest.yaml: no such file" in result.stderr


def test_status_needs_only_the_manifest_and_the_state(sync, admin, names, world, tmp_path):
    admin.create_secret(Name=names("a"), SecretString="v")
    sync.write(f"- id: {names('a')}\n  files:\n    - path: {sync.out}/a\n      group: nogroup\n")
    assert sync.once().returncode == 0
    # The certificate goes away and the group is deleted: exactly when an operator wants status.
    manifest = sync.manifest.read_text()
    certificate = str(world.pki / "clients" / "chained" / "ec-p256-sec1.crt")
    sync.manifest.write_text(manifest.replace(certificate, str(tmp_path / "gone.crt")).replace("nogroup", "no-such-group"))
    result = run(sync.binary, ["status", "-c", str(sync.manifest)], sync.env)
    assert result.returncode == 0, result.stderr
    assert "a" in result.stdout and "ok" in result.stdout, result.stdout
    check = run(sync.binary, ["validate", "-c", str(sync.manifest)], sync.env)
    assert check.returncode == 2
    assert "does not exist" in check.stderr and "no-such-group" in check.stderr


def help_options(binary, command: str) -> set[str]:
    return set(re.findall(r"(--[a-z][a-z0-9-]+)", cli(binary, command, "--help").stdout)) - {"--help", "--version"}


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_the_readme_documents_every_option(binary, command):
    readme = (REPO / "README.md").read_text()
    missing = [option for option in sorted(help_options(binary, command)) if option not in readme]
    assert missing == [], f"README.md does not mention these options of `{command}`: {missing}"


def test_libcurl_is_loaded_only_by_commands_that_use_the_network(sync, admin, names, tmp_path):
    # libcurl is dlopen'ed on first use: with it unloadable (an empty file mounted over it in a
    # private mount namespace), validate still works and a fetch fails with what to install.
    admin.create_secret(Name=names("c"), SecretString="v")
    sync.write(f"- id: {names('c')}\n  files:\n    - path: {sync.root}/c\n")
    library = subprocess.run(["sh", "-c", "ldconfig -p | sed -n 's/.*libcurl.so.4 (libc6,x86-64) => //p' | head -1"],
                             capture_output=True, text=True).stdout.strip()
    assert library, "ldconfig knows no libcurl.so.4"
    empty = tmp_path / "empty.so"
    empty.write_bytes(b"")
    script = (f"mount --bind {empty} {library} && "
              f"{sync.binary} validate -c {sync.manifest} >/dev/null && echo VALIDATED && "
              f"exec {sync.binary} once -c {sync.manifest}")
    result = subprocess.run(["unshare", "-m", "sh", "-c", script], env=sync.env, capture_output=True, text=True, timeout=60)
    assert "VALIDATED" in result.stdout, result.stderr
    assert result.returncode == 1, result.stderr
    assert "cannot load libcurl" in result.stderr and "apt install libcurl4" in result.stderr, result.stderr
    assert not (sync.root / "c").exists()
    ok(sync.once())
    assert (sync.root / "c").read_text() == "v"
