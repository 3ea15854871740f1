"""`secret-sync run --restart-on-change`: secret-sync stays the command's parent, restarts it when a
secret changes, keeps it running when a fetch fails, passes signals on, and ends with its status."""

from __future__ import annotations

import os
import socket
import signal
import subprocess
import sys

from conftest import run
from support import wait_for

# Values no path or id could contain by chance, so the log check below means something.
FIRST, SECOND = "first-value-4c1d", "second-value-9e7a"

CHILD = r"""
import os, signal, sys
log = sys.argv[1]
def note(text):
    with open(log, "a") as f:
        f.write(text + "\n")
note(f"start {os.environ['T']} {os.getpid()}")
def on(number, frame):
    note(f"signal {number}")
    if number == signal.SIGTERM:
        sys.exit(0)
for number in (signal.SIGTERM, signal.SIGUSR1, signal.SIGHUP):
    signal.signal(number, on)
signal.signal(signal.SIGUSR2, lambda *args: os._exit(3))
while True:
    signal.pause()
"""


def supervised(sync, admin, names, tmp_path, *flags: str):
    admin.create_secret(Name=names("t"), SecretString=FIRST)
    sync.write(f"- id: {names('t')}\n  env:\n    - name: T\n")
    child_log, log = tmp_path / "child.log", tmp_path / "secret-sync.log"
    process = subprocess.Popen(
        [str(sync.binary), "run", "-c", str(sync.manifest), "--restart-on-change", "--interval", "1s", "--log-level", "debug", *flags,
         "--", sys.executable, "-c", CHILD, str(child_log)],
        env=sync.env, stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    wait_for(lambda: child_log.exists() and f"start {FIRST}" in child_log.read_text(), 30, "the command to start")
    return process, child_log, log


def lines(path, prefix: str) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.startswith(prefix)] if path.exists() else []


def fetches(log) -> int:
    return log.read_text().count("debug: fetched")


def test_a_rotation_restarts_the_command_once_with_the_new_value(sync, admin, names, tmp_path):
    process, child_log, log = supervised(sync, admin, names, tmp_path)
    try:
        first_pid = int(lines(child_log, "start")[0].split()[2])
        admin.put_secret_value(SecretId=names("t"), SecretString=SECOND)
        wait_for(lambda: len(lines(child_log, "start")) == 2, 30, "a restart")
        assert lines(child_log, "start")[1].startswith(f"start {SECOND} ")
        assert f"signal {signal.SIGTERM}" in lines(child_log, "signal")  # stopped with the stop signal
        # Three more fetches see no change: no further restart.
        seen = fetches(log)
        wait_for(lambda: fetches(log) >= seen + 3, 30, "three more fetches")
        assert len(lines(child_log, "start")) == 2
        assert first_pid != int(lines(child_log, "start")[1].split()[2])
        assert SECOND not in log.read_text() and FIRST not in log.read_text()  # values never logged
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_a_failed_fetch_leaves_the_command_running(sync, admin, names, tmp_path, faults):
    """Row: `run --restart-on-change` cannot fetch the secrets again (Secrets Manager answers 503) | the command keeps running on the values it has; tried again with backoff; restarted once a changed value can be fetched"""
    process, child_log, log = supervised(sync, admin, names, tmp_path)
    try:
        pid = int(lines(child_log, "start")[0].split()[2])
        faults.down("us-west-2", "status:503")
        wait_for(lambda: "cannot fetch the secrets; the command keeps running" in log.read_text(), 60, "a failed fetch")
        os.kill(pid, 0)  # still running
        assert len(lines(child_log, "start")) == 1
        faults.up("us-west-2")
        admin.put_secret_value(SecretId=names("t"), SecretString=SECOND)
        wait_for(lambda: len(lines(child_log, "start")) == 2, 60, "a restart once the network is back")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_signals_reach_the_command_and_its_exit_status_is_secret_syncs(sync, admin, names, tmp_path):
    process, child_log, log = supervised(sync, admin, names, tmp_path)
    process.send_signal(signal.SIGUSR1)
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: {f"signal {signal.SIGUSR1}", f"signal {signal.SIGHUP}"} <= set(lines(child_log, "signal")), 30, "the signals")
    assert process.poll() is None  # HUP is passed on, not taken as a reason to stop
    process.send_signal(signal.SIGUSR2)  # the command exits 3 on it
    assert process.wait(timeout=30) == 3
    assert len(lines(child_log, "start")) == 1  # no restart loop of its own


def test_sigterm_stops_both(sync, admin, names, tmp_path):
    process, child_log, log = supervised(sync, admin, names, tmp_path)
    pid = int(lines(child_log, "start")[0].split()[2])
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert f"signal {signal.SIGTERM}" in lines(child_log, "signal")
    try:
        os.kill(pid, 0)
        raise AssertionError("the command outlived secret-sync")
    except ProcessLookupError:
        pass


def test_a_command_killed_by_a_signal_gives_128_plus_it(sync, admin, names, tmp_path):
    """Row: the command under `run --restart-on-change` crashes (SIGKILL) | secret-sync exits 128 + 9 at once, no restart loop of its own (systemd's Restart= decides)"""
    process, child_log, log = supervised(sync, admin, names, tmp_path)
    os.kill(int(lines(child_log, "start")[0].split()[2]), signal.SIGKILL)
    assert process.wait(timeout=30) == 128 + signal.SIGKILL


def test_supervisor_flags_need_restart_on_change(sync, admin, names):
    admin.create_secret(Name=names("t"), SecretString="v")
    sync.write(f"- id: {names('t')}\n  env:\n    - name: T\n")
    for flags in (["--interval", "1m"], ["--stop-signal", "TERM"], ["--stop-timeout", "5s"]):
        result = run(sync.binary, ["run", "-c", str(sync.manifest), *flags, "--", "true"], sync.env)
        assert result.returncode == 2 and "applies only with --restart-on-change" in result.stderr
    bad = run(sync.binary, ["run", "-c", str(sync.manifest), "--restart-on-change", "--stop-signal", "KILL", "--", "true"], sync.env)
    assert bad.returncode == 2 and "is not one of TERM" in bad.stderr
    bad = run(sync.binary, ["run", "-c", str(sync.manifest), "--restart-on-change", "--interval", "2d", "--", "true"], sync.env)
    assert bad.returncode == 2 and "out of range" in bad.stderr


ACTIVATED = r"""
import os, socket, stat, sys
fd_ok = stat.S_ISSOCK(os.fstat(3).st_mode)
with open(sys.argv[1], "w") as f:
    f.write(f"{os.environ.get('LISTEN_PID')} {os.getpid()} {os.environ.get('LISTEN_FDS')} {fd_ok} {os.environ.get('NOTIFY_SOCKET')}\n")
"""


def test_socket_activation_descriptors_and_notify_socket_reach_the_command(sync, admin, names, tmp_path):
    admin.create_secret(Name=names("t"), SecretString="v1")
    sync.write(f"- id: {names('t')}\n  env:\n    - name: T\n")
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    fd = listening.fileno()
    out = tmp_path / "activated"
    # As systemd starts a socket-activated service: the socket as descriptor 3, LISTEN_PID secret-sync's own PID.
    script = (f'LISTEN_PID=$$ LISTEN_FDS=1 NOTIFY_SOCKET=/run/test.sock exec {sync.binary} run '
              f'-c {sync.manifest} --restart-on-change -- {sys.executable} -c "$0" {out}')
    try:
        result = subprocess.run(["sh", "-c", script, ACTIVATED], env=sync.env, pass_fds=(3,), preexec_fn=lambda: os.dup2(fd, 3),
                                capture_output=True, text=True, timeout=60)
    finally:
        listening.close()
    assert result.returncode == 0, result.stderr
    listen_pid, pid, fds, fd_ok, notify = out.read_text().split()
    assert listen_pid == pid and fds == "1" and fd_ok == "True" and notify == "/run/test.sock"
