"""`secret-sync run -- CMD` against the local world: exec with secrets in the environment, fail closed."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO, run
from support import Sync

DUMP_ENV = [sys.executable, "-c", "import json, os; print(json.dumps({'pid': os.getpid(), 'env': dict(os.environ)}))"]


@pytest.fixture
def wrapper(binary, world, clean_env, shared_dir):
    return Sync(binary, world, clean_env, shared_dir)


def one_token(wrapper: Sync, admin, names, value: str) -> None:
    """One secret, names("token"), injected as API_TOKEN."""
    admin.create_secret(Name=names("token"), SecretString=value)
    wrapper.write(f"""\
        - id: {names("token")}
          env:
            - name: API_TOKEN
        """)


def run_cmd(sync: Sync, *command: str, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return run(sync.binary, ["run", "-c", str(sync.manifest), *flags, "--", *command], sync.env)


def test_injected_variables_are_exact(wrapper, admin, names):
    tricky = json.dumps({"username": "app", "password": "p\"w $HOME `x` \\n", "port": 5432, "multi": "line1\nline2"})
    admin.create_secret(Name=names("db"), SecretString=tricky)
    admin.create_secret(Name=names("token"), SecretString="tok en ")
    wrapper.write(f"""\
        - id: {names("db")}
          env:
            - name: DB_PASSWORD
              key: password
            - prefix: DB_
        - id: {names("token")}
          env:
            - name: API_TOKEN
        """)
    result = run_cmd(wrapper, *DUMP_ENV)
    assert result.returncode == 0, result.stderr
    env = json.loads(result.stdout)["env"]
    assert env["DB_PASSWORD"] == 'p"w $HOME `x` \\n'
    assert env["DB_USERNAME"] == "app"
    assert env["DB_PORT"] == "5432"
    assert env["DB_MULTI"] == "line1\nline2"
    assert env["API_TOKEN"] == "tok en "
    assert env["PATH"] == wrapper.env["PATH"]  # the parent's environment is kept
    assert "overriding" not in result.stderr  # name: and prefix: agreeing on DB_PASSWORD is no override
    assert 'p"w' not in result.stderr


def test_the_pid_is_kept_and_the_exit_status_is_the_commands(wrapper, admin, names):
    one_token(wrapper, admin, names, "t")
    process = subprocess.Popen([str(wrapper.binary), "run", "-c", str(wrapper.manifest), "--", *DUMP_ENV],
                               env=wrapper.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert json.loads(stdout)["pid"] == process.pid  # execve: no process in between
    assert run_cmd(wrapper, "sh", "-c", "exit 42").returncode == 42


def test_sigterm_reaches_the_application(wrapper, admin, names, tmp_path):
    one_token(wrapper, admin, names, "t")
    marker = tmp_path / "got-sigterm"
    app = textwrap.dedent(f"""\
        import signal, sys, time, pathlib
        def stop(number, frame):
            pathlib.Path({str(marker)!r}).write_text("SIGTERM")
            sys.exit(0)
        signal.signal(signal.SIGTERM, stop)
        print("ready", flush=True)
        time.sleep(60)
        """)
    process = subprocess.Popen([str(wrapper.binary), "run", "-c", str(wrapper.manifest), "--", sys.executable, "-c", app],
                               env=wrapper.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    assert marker.read_text() == "SIGTERM"


def test_fail_closed_starts_nothing(wrapper, admin, names, tmp_path):
    admin.create_secret(Name=names("good"), SecretString="g")
    marker = tmp_path / "started"
    wrapper.write(f"""\
        - id: {names("good")}
          env:
            - name: GOOD
        - id: {names("missing")}
          env:
            - name: MISSING
        """)
    result = run_cmd(wrapper, "touch", str(marker))
    assert result.returncode == 1
    assert f"secret-sync: error: not starting the command: Secrets Manager refused BatchGetSecretValue for {names('missing')}: ResourceNotFoundException" in result.stderr
    assert not marker.exists()


def test_only_env_secrets_are_fetched(wrapper, admin, names):
    admin.create_secret(Name=names("token"), SecretString="t")
    wrapper.write(f"""\
        - id: {names("does-not-exist")}
          files:
            - path: {wrapper.out}/never
        - id: {names("token")}
          env:
            - name: API_TOKEN
        """)
    result = run_cmd(wrapper, "true")
    assert result.returncode == 0, result.stderr
    assert not wrapper.out.exists()


@pytest.mark.parametrize("secret, entry, message", [
    ('{"a-b": "x"}', "- prefix: APP_", "field 'a-b' would make 'APP_A-B', which is not a valid environment variable name"),
    ('{"a": "x\\u0000y"}', "- prefix: APP_", "APP_A: the value contains a NUL character"),
    ('{"a": "x"}', "- name: APP_B\n  key: b", "field 'b' is missing from the secret (fields present: a)"),
    ("plain", "- prefix: APP_", "env prefix APP_ needs the secret to be a JSON object"),
])
def test_bad_values_are_refused(wrapper, admin, names, tmp_path, secret, entry, message):
    admin.create_secret(Name=names("s"), SecretString=secret)
    wrapper.write(f"- id: {names('s')}\n  env:\n" + textwrap.indent(entry, "    ") + "\n")
    marker = tmp_path / "started"
    result = run_cmd(wrapper, "touch", str(marker))
    assert result.returncode == 1, result.stderr
    assert message in result.stderr
    assert not marker.exists()


def test_binary_secrets_need_base64(wrapper, admin, names):
    admin.create_secret(Name=names("blob"), SecretBinary=bytes([0, 1, 2, 255]))
    wrapper.write(f"""\
        - id: {names("blob")}
          env:
            - name: BLOB
        """)
    refused = run_cmd(wrapper, "true")
    assert refused.returncode == 1
    assert "BLOB: the secret is binary (SecretBinary)" in refused.stderr and "encoding: base64" in refused.stderr
    wrapper.write(f"""\
        - id: {names("blob")}
          env:
            - name: BLOB
              encoding: base64
        """)
    result = run_cmd(wrapper, *DUMP_ENV)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["env"]["BLOB"] == "AAEC/w=="


def test_command_not_found_127_and_not_executable_126(wrapper, admin, names, tmp_path):
    one_token(wrapper, admin, names, "t")
    missing = run_cmd(wrapper, "no-such-command-anywhere")
    assert missing.returncode == 127
    assert "no-such-command-anywhere: command not found in PATH" in missing.stderr
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    denied = run_cmd(wrapper, str(script))
    assert denied.returncode == 126
    assert f"{script}: not an executable file" in denied.stderr
    assert run_cmd(wrapper).returncode == 2  # no command at all is a usage error


def test_overrides_are_logged_by_name_only(wrapper, admin, names):
    admin.create_secret(Name=names("token"), SecretString="new-value")
    wrapper.env["API_TOKEN"] = "old-value"
    wrapper.write(f"""\
        - id: {names("token")}
          env:
            - name: API_TOKEN
        """)
    result = run_cmd(wrapper, *DUMP_ENV)
    assert json.loads(result.stdout)["env"]["API_TOKEN"] == "new-value"
    assert "notice: overriding environment variable API_TOKEN with the secret's value" in result.stderr
    assert "new-value" not in result.stderr and "old-value" not in result.stderr


def test_wrapper_credentials_are_withheld_unless_asked(wrapper, admin, names, world):
    admin.create_secret(Name=names("token"), SecretString="t")
    d = world.description()
    wrapper.env.update(AWS_ACCESS_KEY_ID=d["admin_access_key_id"], AWS_SECRET_ACCESS_KEY=d["admin_secret_access_key"],
                       AWS_SESSION_TOKEN="", MY_SETTING="kept")
    wrapper.write(f"""\
        - id: {names("token")}
          env:
            - name: API_TOKEN
        """, auth="auth:\n  environment: true\nregion: us-west-2\n")
    env = json.loads(run_cmd(wrapper, *DUMP_ENV).stdout)["env"]
    assert "AWS_ACCESS_KEY_ID" not in env and "AWS_SECRET_ACCESS_KEY" not in env and "AWS_SESSION_TOKEN" not in env
    assert env["MY_SETTING"] == "kept"
    kept = json.loads(run_cmd(wrapper, *DUMP_ENV, flags=("--keep-aws-credentials",)).stdout)["env"]
    assert kept["AWS_SECRET_ACCESS_KEY"] == d["admin_secret_access_key"]
    pristine = json.loads(run_cmd(wrapper, *DUMP_ENV, flags=("--pristine",)).stdout)["env"]
    assert "MY_SETTING" not in pristine and pristine["API_TOKEN"] == "t" and pristine["PATH"] == wrapper.env["PATH"]


def test_the_deployed_unit_verifies_and_its_exec_start_works(wrapper, admin, names):
    """deploy/systemd/myapp-with-secrets.service: systemd accepts it, and its ExecStart line runs as written."""
    unit = (REPO / "deploy" / "systemd" / "myapp-with-secrets.service").read_text()
    tmp_path = wrapper.root  # traversable by nobody, whom the unit's setpriv becomes
    app = tmp_path / "myapp"
    app.write_text("#!/bin/sh\necho \"$(id -un) $API_TOKEN\"\n")
    app.chmod(0o755)
    local = unit.replace("/usr/local/bin/secret-sync", str(wrapper.binary)).replace("/usr/local/bin/myapp", str(app))
    local = local.replace("/etc/secret-sync/manifest.yaml", str(wrapper.manifest)).replace("--reuid=myapp --regid=myapp", "--reuid=nobody --regid=nogroup")
    (tmp_path / "myapp.service").write_text(local)
    verify = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / "myapp.service")], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr

    admin.create_secret(Name=names("token"), SecretString="from-secrets-manager")
    wrapper.write(f"""\
        - id: {names("token")}
          env:
            - name: API_TOKEN
        """)
    exec_start = next(line for line in local.splitlines() if line.startswith("ExecStart="))
    result = subprocess.run(shlex.split(exec_start.removeprefix("ExecStart=")), env=wrapper.env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "nobody from-secrets-manager"


LIST_FDS = [sys.executable, "-c", "import json, os\nfds = {}\nfor fd in os.listdir('/proc/self/fd'):\n"
            "    try: fds[fd] = os.readlink(f'/proc/self/fd/{fd}')\n    except OSError: pass\nprint(json.dumps(fds))"]


def test_the_app_inherits_what_secret_sync_inherited_and_nothing_it_opened(wrapper, admin, names, tmp_path):
    """Kept-alive HTTPS connections stay behind; descriptors handed to `run` (socket activation) pass on."""
    one_token(wrapper, admin, names, "tok")
    handed = open(tmp_path / "handed-over", "w")
    try:
        result = subprocess.run([str(wrapper.binary), "run", "-c", str(wrapper.manifest), "--", *LIST_FDS], env=wrapper.env,
                                capture_output=True, text=True, timeout=60, pass_fds=[handed.fileno()])
    finally:
        handed.close()
    assert result.returncode == 0, result.stderr
    descriptors = json.loads(result.stdout)
    assert str(tmp_path / "handed-over") in descriptors.values()
    assert not [target for target in descriptors.values() if target.startswith("socket:")], descriptors
