"""`secret-sync validate`, `status` and the metrics file."""

from __future__ import annotations

import calendar
import json
import os
import pwd
import shutil
import time


from support import Sync
from conftest import run


def validate(sync: Sync):
    return run(sync.binary, ["validate", "-c", str(sync.manifest)], sync.env)


def status(sync: Sync, *args: str):
    return run(sync.binary, ["status", "-c", str(sync.manifest), *args], sync.env)


SECRETS = lambda sync: f"""\
    - id: prod/db
      name: db
      files:
        - path: {sync.out}/db-password
          key: password
          mode: "0640"
          group: nogroup
      env:
        - name: DB_PASSWORD
          key: password
      on_change:
        - systemctl try-reload-or-restart myapp
    """


def test_validate_checks_key_certificate_and_chain_offline(sync):
    sync.env["AWS_ENDPOINT_URL"] = "https://127.0.0.1:9"  # nothing listens: validate must not need it
    sync.write(SECRETS(sync))
    result = validate(sync)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"manifest {sync.manifest}: valid (1 secret)" in result.stdout
    assert "ok: EC P-256 key matches the certificate (subject O=secret-sync test,CN=ec-p256-sec1-chained" in result.stdout
    assert "ok: the chain links up: certificate ← O=secret-sync test,CN=Test Intermediate CA" in result.stdout
    assert "secret db: prod/db (AWSCURRENT, region us-west-2)" in result.stdout
    assert f"file {sync.out}/db-password (key password, {pwd.getpwuid(os.geteuid()).pw_name}:nogroup 0640)" in result.stdout
    assert "env DB_PASSWORD (key password)" in result.stdout
    assert "on change: systemctl try-reload-or-restart myapp" in result.stdout


def test_validate_finds_broken_local_files(sync, world):
    pki = world.pki
    sync.write(SECRETS(sync), auth=sync.auth().replace(str(pki / "clients" / "ec-p256-sec1.key"), str(pki / "clients" / "rsa2048-pkcs8.key")))
    mismatch = validate(sync)
    assert mismatch.returncode == 1
    assert "problem: private key" in mismatch.stderr and "does not match certificate" in mismatch.stderr
    assert "secret-sync: error: 1 problem found (see above)" in mismatch.stderr

    wrong_chain = sync.root / "wrong-chain.pem"
    shutil.copy(pki / "ca" / "untrusted-ca.crt", wrong_chain)
    sync.write(SECRETS(sync), auth=sync.auth().replace(str(pki / "clients" / "chain.pem"), str(wrong_chain)))
    broken = validate(sync)
    assert broken.returncode == 1
    assert "problem: the certificate (issuer O=secret-sync test,CN=Test Intermediate CA) was not issued by intermediate 1 (O=somebody else,CN=Untrusted Root CA)" in broken.stderr

    key = sync.root / "client.key"
    shutil.copy(pki / "clients" / "ec-p256-sec1.key", key)
    key.chmod(0o644)
    sync.write(SECRETS(sync), auth=sync.auth().replace(str(pki / "clients" / "ec-p256-sec1.key"), str(key)))
    loose = validate(sync)
    assert loose.returncode == 0
    assert "warning: the private key is readable by every user (mode 644)" in loose.stderr

    sync.manifest.write_text("version: 1\n")
    assert validate(sync).returncode == 2


def test_status_reports_health_for_monitoring(sync, admin, names):
    admin.create_secret(Name=names("good"), SecretString="g")
    sync.write(f"""\
        - id: {names("good")}
          name: good
          files:
            - path: {sync.out}/good
        """, extra="metrics_file: " + str(sync.root / "metrics" / "secret_sync.prom") + "\n")
    never = status(sync)
    assert never.returncode == 1
    assert "good [never-synced]" in never.stdout and "no pass has run yet" in never.stdout

    assert sync.once().returncode == 0
    healthy = status(sync)
    assert healthy.returncode == 0, healthy.stderr
    assert "good [ok]" in healthy.stdout and "last pass:" in healthy.stdout
    document = json.loads(status(sync, "--json").stdout)
    assert document["healthy"] is True
    assert document["secrets"][0]["name"] == "good" and document["secrets"][0]["health"] == "ok"
    assert document["lastPass"]["apiCalls"] == 2  # CreateSession + GetSecretValue

    metrics = (sync.root / "metrics" / "secret_sync.prom").read_text()
    assert 'secret_sync_secret_failing{secret="good"} 0' in metrics
    assert "secret_sync_last_pass_api_calls 2" in metrics
    assert oct((sync.root / "metrics" / "secret_sync.prom").stat().st_mode & 0o777) == "0o644"

    # An hour passes: the state says the last success was then (no test waits for real time).
    saved = json.loads((sync.state / "state.json").read_text())
    saved["secrets"]["good"]["lastSuccess"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    (sync.state / "state.json").write_text(json.dumps(saved))
    stale = status(sync, "--max-age", "30m")
    assert stale.returncode == 1 and "good [stale]" in stale.stdout

    sync.write(f"""\
        - id: {names("good")}
          name: good
          files:
            - path: {sync.out}/good
        - id: {names("missing")}
          name: missing
          files:
            - path: {sync.out}/missing
        """, extra="metrics_file: " + str(sync.root / "metrics" / "secret_sync.prom") + "\n")
    assert sync.once().returncode == 1
    failing = status(sync)
    assert failing.returncode == 1
    assert "missing [failing]" in failing.stdout and "last error: Secrets Manager refused BatchGetSecretValue for" in failing.stdout
    assert "secret-sync: error: not in sync: missing (failing)" in failing.stderr
    assert 'secret_sync_secret_failing{secret="missing"} 1' in (sync.root / "metrics" / "secret_sync.prom").read_text()


def ago(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - seconds))


def test_an_idle_pass_keeps_status_and_metrics_fresh(sync, admin, names):
    """Row: a pass that changed nothing, minutes after the last one that wrote | status and the metrics' last-pass time follow it: every pass records itself, so `status --max-age 5m` calls the secret ok, not stale"""
    admin.create_secret(Name=names("good"), SecretString="g")
    metrics = sync.root / "metrics" / "secret_sync.prom"
    sync.write(f"- id: {names('good')}\n  name: good\n  files:\n    - path: {sync.out}/good\n", extra=f"metrics_file: {metrics}\n")
    assert sync.once().returncode == 0
    # Six minutes pass (no test waits for real time): the state says the last pass was then.
    saved = json.loads((sync.state / "state.json").read_text())
    saved["secrets"]["good"]["lastSuccess"] = saved["secrets"]["good"]["lastAttempt"] = ago(360)
    saved["lastPass"]["started"] = saved["lastPass"]["finished"] = ago(360)
    (sync.state / "state.json").write_text(json.dumps(saved))

    idle = sync.once()
    assert idle.returncode == 0 and "files_written=0" in idle.stderr, idle.stderr
    fresh = status(sync, "--max-age", "5m")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "good [ok]" in fresh.stdout
    finished = json.loads(status(sync, "--json").stdout)["lastPass"]["finished"]
    assert time.time() - calendar.timegm(time.strptime(finished, "%Y-%m-%dT%H:%M:%SZ")) < 120, finished
    stamp = next(float(line.split()[1]) for line in metrics.read_text().splitlines() if line.startswith("secret_sync_last_pass_timestamp_seconds"))
    assert time.time() - stamp < 120, metrics.read_text()


def test_status_json_has_one_shape_for_every_entry(sync, admin, names):
    """Row: `status --json` read by monitoring, with entries that failed, synced and never ran | one schema: every entry has the same keys (null where absent), the document a formatVersion"""
    admin.create_secret(Name=names("good"), SecretString="g")
    entries = f"- id: {names('good')}\n  name: good\n  files:\n    - path: {sync.out}/good\n"
    sync.write(entries)
    before = json.loads(status(sync, "--json").stdout)
    assert before["formatVersion"] == 1 and before["lastPass"] is None, before
    sync.write(entries + f"- id: {names('missing')}\n  name: missing\n  files:\n    - path: {sync.out}/missing\n")
    assert sync.once().returncode == 1
    document = json.loads(status(sync, "--json").stdout)
    assert set(document) == {"formatVersion", "healthy", "maxAgeSeconds", "lastPass", "secrets"}
    good, missing = sorted(document["secrets"], key=lambda entry: entry["name"])
    assert set(good) == set(missing) == set(before["secrets"][0]), (good, missing)
    assert good["lastError"] is None and good["servedBy"] is None and missing["versionId"] is None and missing["lastError"]
    assert document["lastPass"]["filesRemoved"] == 0
