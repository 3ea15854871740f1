#!/usr/bin/env python3
"""secret-sync's performance against today's ways, through a 100 ms round-trip link.

    python3 scripts/benchmark.py [--rtt 0.1] [--sizes 1,20,100,500]

Brings up the local world with keep-alive servers (moto behind testworld/keepalive_moto.py, the
Roles Anywhere emulator), puts a latency proxy (testworld/latency_proxy.py) in front of both, and
measures for each number of secrets:
  * `secret-sync once` (the release binary, dist/secret-sync): wall time, request flights through
    the proxy, API calls (from its state), peak RSS;
  * the AWS CLI once per secret with a credential_process profile (today's shell scripts);
  * a boto3 loop with the same credential_process profile (the usual SDK example);
  * the floor: TCP + TLS to Roles Anywhere, CreateSession, and rounds of parallel batch calls.
Then a pass with 20 parameters by path and 40 secrets by name prefix (API calls, time); then,
without the proxy: a daemon's RSS over 1,000 passes, the CPU time of an idle pass and the
bytes it writes, and the release binary's size. Not part of CI's pass/fail: it prints a table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from testworld.latency_proxy import LatencyProxy  # noqa: E402
from testworld.world import World  # noqa: E402

BINARY = REPO / "dist" / "secret-sync"


def run_measured(command, env, cwd=None):
    """Runs a command; returns (wall seconds, peak RSS in KiB, stdout, stderr).

    The RSS comes from /usr/bin/time: a child's own ru_maxrss would include the pages it shared
    with this Python process between fork and exec."""
    command = ["/usr/bin/time", "-f", "%M", *command]
    # Output goes to files, not pipes: waiting on a child whose pipe is full would deadlock.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
        rss = int(stderr.strip().splitlines()[-1])
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{command[0]} failed ({code}): {stderr.decode()[-2000:]}")
    return wall, rss, stdout, stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtt", type=float, default=0.1, help="round-trip time the proxy adds, seconds")
    parser.add_argument("--sizes", default="1,20,100,500")
    parser.add_argument("--cli-max", type=int, default=20, help="largest size the AWS CLI loop is run for")
    parser.add_argument("--boto3-max", type=int, default=100, help="largest size the boto3 loop is run for")
    parser.add_argument("--daemon-passes", type=int, default=1000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    if not BINARY.exists():
        subprocess.run([str(REPO / "scripts" / "release.sh")], check=True)
    work = Path(tempfile.mkdtemp(prefix="secret-sync-bench-"))
    work.chmod(0o755)
    world = World(work / "world", keep_alive=True).start()
    try:
        return benchmark(world, work, sizes, args)
    finally:
        world.stop()
        shutil.rmtree(work, ignore_errors=True)


def benchmark(world: World, work: Path, sizes: list[int], args) -> int:
    d = world.description()
    admin = world.boto_client("secretsmanager", keys=(d["admin_access_key_id"], d["admin_secret_access_key"]))
    ra_proxy = LatencyProxy(world.emulator_port, args.rtt)
    sm_proxy = LatencyProxy(world.moto_port, args.rtt)
    pki = world.pki / "clients"
    cert, key, chain = pki / "chained" / "ec-p256-sec1.crt", pki / "ec-p256-sec1.key", pki / "chain.pem"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CA_BUNDLE=world.ca_bundle, AWS_ENDPOINT_URL_ROLESANYWHERE=f"https://127.0.0.1:{ra_proxy.port}",
               AWS_ENDPOINT_URL_SECRETS_MANAGER=f"https://127.0.0.1:{sm_proxy.port}", AWS_CONFIG_FILE=str(work / "aws-config"),
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PROFILE="bench", AWS_REGION="us-west-2")
    auth = (f"auth:\n  roles_anywhere:\n    certificate: {cert}\n    private_key: {key}\n    intermediates: {chain}\n"
            f"    trust_anchor_arn: {d['trust_anchor_arn']}\n    profile_arn: {d['profile_arn']}\n    role_arn: {d['role_arn']}\n")
    (work / "aws-config").write_text(
        f"[profile bench]\nregion = us-west-2\ncredential_process = {BINARY} credential-process --certificate {cert} --private-key {key}"
        f" --intermediates {chain} --trust-anchor-arn {d['trust_anchor_arn']} --profile-arn {d['profile_arn']} --role-arn {d['role_arn']}\n")

    created = 0
    rows = []
    for n in sizes:
        while created < n:
            admin.create_secret(Name=f"bench/s{created:04d}", SecretString=json.dumps({"value": f"v{created}", "n": created}))
            created += 1
        ids = [f"bench/s{i:04d}" for i in range(n)]
        case = work / f"n{n}"
        case.mkdir()
        manifest = case / "manifest.yaml"
        manifest.write_text("version: 1\n" + auth + f"state_dir: {case / 'state'}\nsecrets:\n"
                            + "".join(f"  - id: {i}\n    files:\n      - path: {case / 'out' / i.replace('/', '_')}\n" for i in ids))
        for proxy in (ra_proxy, sm_proxy):
            proxy.reset()
        wall, rss, _, _ = run_measured([str(BINARY), "once", "-c", str(manifest)], env)
        calls = json.loads((case / "state" / "state.json").read_text())["lastPass"]["apiCalls"]
        flights = ra_proxy.flights + sm_proxy.flights
        connections = ra_proxy.connections + sm_proxy.connections
        # The same pass with no added latency: the servers' (moto's) and the client's own time.
        shutil.rmtree(case / "state")
        shutil.rmtree(case / "out")
        direct = dict(env, AWS_ENDPOINT_URL_ROLESANYWHERE=world.emulator_endpoint, AWS_ENDPOINT_URL_SECRETS_MANAGER=world.moto_endpoint)
        local = run_measured([str(BINARY), "once", "-c", str(manifest)], direct)[0]
        batch_rounds = math.ceil(math.ceil(n / 20) / 16) if n > 1 else 1
        floor_rtts = 2 + 1 + batch_rounds
        # Without BatchGetSecretValue (a role that may only GetSecretValue): one refused batch call, then singly.
        no_batch = no_batch_local = None
        if n <= 100:
            shutil.rmtree(case / "state")
            shutil.rmtree(case / "out")
            single_manifest = case / "single.yaml"
            single_manifest.write_text(manifest.read_text().replace(d["role_arn"], d["single_reads_role_arn"]))
            no_batch = run_measured([str(BINARY), "once", "-c", str(single_manifest)], env)[0]
            shutil.rmtree(case / "state")
            shutil.rmtree(case / "out")
            no_batch_local = run_measured([str(BINARY), "once", "-c", str(single_manifest)], direct)[0]
        row = {"n": n, "secret_sync_s": wall, "local_s": local, "no_batch_s": no_batch, "no_batch_local_s": no_batch_local, "flights": flights, "connections": connections, "api_calls": calls, "rss_mib": rss / 1024,
               "floor_s": floor_rtts * args.rtt, "floor_rtts": floor_rtts}

        if n <= args.boto3_max:
            script = ("import boto3, sys\nclient = boto3.Session(profile_name='bench').client('secretsmanager')\n"
                      f"for i in range({n}):\n    client.get_secret_value(SecretId=f'bench/s{{i:04d}}')\n")
            row["boto3_s"] = run_measured([sys.executable, "-c", script], env)[0]
        if n <= args.cli_max:
            started = time.monotonic()
            for i in ids:
                run_measured(["aws", "secretsmanager", "get-secret-value", "--secret-id", i, "--query", "VersionId", "--output", "text"], env)
            row["cli_s"] = time.monotonic() - started
        rows.append(row)
        print(f"measured n={n}", file=sys.stderr)

    print(f"\nRound-trip time added by the proxy: {args.rtt * 1000:.0f} ms. Times in seconds (ratio to the floor).\n")
    print("| secrets | floor | secret-sync once | same, no added latency | without batch (no added latency) | boto3 loop | AWS CLI per secret | API calls | flights / connections | peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ratio = lambda s: f"{s:.2f} ({s / r['floor_s']:.1f}×)"
        no_batch_cell = lambda r: f"{ratio(r['no_batch_s'])}; {r['no_batch_local_s']:.2f}" if r["no_batch_s"] else "—"
        print(f"| {r['n']} | {r['floor_s']:.2f} ({r['floor_rtts']} RTT) | {ratio(r['secret_sync_s'])} | {r['local_s']:.2f} | "
              f"{no_batch_cell(r)} | "
              f"{ratio(r['boto3_s']) if 'boto3_s' in r else '—'} | {ratio(r['cli_s']) if 'cli_s' in r else '—'} | "
              f"{r['api_calls']} | {r['flights']} / {r['connections']} | {r['rss_mib']:.1f} MiB |")

    sources_numbers(world, work, auth, d, env, ra_proxy, sm_proxy, args.rtt)
    daemon_numbers(world, work, auth, d, args.daemon_passes)
    print(f"\nRelease binary: {BINARY.stat().st_size / 2**20:.1f} MiB, stripped; needs "
          + subprocess.run(["sh", "-c", f"readelf -d {BINARY} | sed -n 's/.*NEEDED.*\\[\\(.*\\)\\]/\\1/p' | tr '\\n' ' '"],
                           capture_output=True, text=True).stdout)
    return 0


def sources_numbers(world: World, work: Path, auth: str, d: dict, env: dict, ra_proxy, sm_proxy, rtt: float) -> None:
    """A pass with 20 parameters by path and 40 secrets by name prefix: its API calls and time."""
    keys = (d["admin_access_key_id"], d["admin_secret_access_key"])
    ssm, secrets = world.boto_client("ssm", keys=keys), world.boto_client("secretsmanager", keys=keys)
    for i in range(20):
        ssm.put_parameter(Name=f"/t/bench/flags/f{i:02d}", Value=f"v{i}", Type="SecureString")
    for i in range(40):
        secrets.create_secret(Name=f"bench/app/s{i:02d}", SecretString=f"v{i}")
    case = work / "sources"
    case.mkdir()
    manifest = case / "manifest.yaml"
    manifest.write_text("version: 1\n" + auth + f"state_dir: {case / 'state'}\n"
                        + f"secrets:\n  - select:\n      name_prefix: bench/app/\n    directory: {case / 'app'}\n"
                        + f"parameters:\n  - path: /t/bench/flags\n    directory: {case / 'flags'}\n")
    for proxy in (ra_proxy, sm_proxy):
        proxy.reset()
    wall, _, _, _ = run_measured([str(BINARY), "once", "-c", str(manifest)], dict(env, AWS_ENDPOINT_URL_SSM=f"https://127.0.0.1:{sm_proxy.port}"))
    calls = json.loads((case / "state" / "state.json").read_text())["lastPass"]["apiCalls"]
    written = sum(1 for directory in ("app", "flags") for p in (case / directory).rglob("*") if p.is_file())
    # TCP + TLS + CreateSession, then the pages of each source in turn, the two sources in
    # parallel: 2 pages of 20 secrets; 2 pages of 10 parameters, and a third, empty one when the
    # server sends a token after the last (moto does; AWS may).
    path_pages = calls - 1 - 2
    floor_rtts = 2 + 1 + max(2, path_pages)
    print(f"\nSources, 20 parameters by path and 40 secrets by name prefix ({written} files): {calls} API calls "
          f"(CreateSession, 2 BatchGetSecretValue pages, {path_pages} GetParametersByPath pages), {ra_proxy.flights + sm_proxy.flights} flights / "
          f"{ra_proxy.connections + sm_proxy.connections} connections, {wall:.2f} s (floor {floor_rtts * rtt:.2f} s, {floor_rtts} RTT)")


def daemon_numbers(world: World, work: Path, auth: str, d: dict, passes: int) -> None:
    """RSS across passes and the cost of an idle pass, straight over loopback (no proxy)."""
    case = work / "daemon"
    case.mkdir()
    manifest = case / "manifest.yaml"
    # The manifest's shortest interval is 1s; SIGHUP runs a pass at once, so the passes are driven
    # by SIGHUP (each one re-reads the manifest too, which the numbers include).
    manifest.write_text("version: 1\n" + auth + f"state_dir: {case / 'state'}\ninterval: 1h\nsecrets:\n"
                        + "".join(f"  - id: bench/s{i:04d}\n    files:\n      - path: {case / 'out' / str(i)}\n" for i in range(20)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(world.environment())
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(case / "notify"))
    notify.settimeout(30)
    env["NOTIFY_SOCKET"] = str(case / "notify")
    process = subprocess.Popen([str(BINARY), "daemon", "-c", str(manifest), "--log-level", "warning"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ticks = os.sysconf("SC_CLK_TCK")

    def rss_kib():
        return int(next(l for l in open(f"/proc/{process.pid}/status") if l.startswith("VmRSS:")).split()[1])

    def cpu_seconds():
        fields = open(f"/proc/{process.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    def written_bytes():
        return int(next(l for l in open(f"/proc/{process.pid}/io") if l.startswith("write_bytes:")).split()[1])

    samples = {}
    count = 0
    cpu_start = write_start = None
    while count < passes:
        message = notify.recv(4096).decode()
        status = message.split("STATUS=", 1)[-1] if "STATUS=" in message else ""
        if not status.startswith(("in sync", "pass")):
            continue
        count += 1
        if count < passes:
            process.send_signal(signal.SIGHUP)
        if count in (10, 100, passes // 2, passes):
            samples[count] = rss_kib()
        if count == passes // 2:
            cpu_start, write_start, half_time = cpu_seconds(), written_bytes(), time.monotonic()
    cpu = (cpu_seconds() - cpu_start) / (passes - passes // 2)
    written = written_bytes() - write_start
    process.terminate()
    process.wait(timeout=30)
    print(f"\nDaemon, 20 secrets, {passes} passes over loopback (each after a SIGHUP reload): RSS " + ", ".join(f"{v / 1024:.1f} MiB after {k}" for k, v in samples.items())
          + f"; idle pass: {cpu * 1000:.1f} ms CPU, {written} bytes written to disk in the last {passes - passes // 2} passes")


if __name__ == "__main__":
    sys.exit(main())
