"""Secrets selected by name prefix and tags (`select:`): BatchGetSecretValue with Filters, and
ListSecrets at the same time to hold tags to their exact key and value."""

from __future__ import annotations

import json

from conftest import run
from support import ok


def test_a_name_prefix_selects_every_secret_below_it_into_a_directory(sync, admin, names, binary):
    prefix = names("app") + "/"
    admin.create_secret(Name=prefix + "db-password", SecretString="pw")
    admin.create_secret(Name=prefix + "tls/key", SecretBinary=b"\x00\x01key")
    admin.create_secret(Name=names("app") + "-other", SecretString="not selected")  # shares the text, not the prefix
    sync.write(f"""\
        - select:
            name_prefix: {prefix}
          name: app
          directory: {sync.out}/app
          env:
            - prefix: APP_
          on_change:
            - {sync.hook("app")}
        """)
    ok(sync.once())
    app = sync.out / "app"
    assert sorted(str(p.relative_to(app)) for p in app.rglob("*") if p.is_file()) == ["db-password", "tls/key"]
    assert (app / "db-password").read_text() == "pw" and (app / "tls" / "key").read_bytes() == b"\x00\x01key"
    assert sync.hook_runs() == ["app app"]

    ok(sync.once())
    assert sync.hook_runs() == ["app app"]
    admin.create_secret(Name=prefix + "api-token", SecretString="tok")
    ok(sync.once())
    assert (app / "api-token").read_text() == "tok" and sync.hook_runs() == ["app app", "app app"]
    admin.put_secret_value(SecretId=prefix + "db-password", SecretString="pw2")
    ok(sync.once())
    assert (app / "db-password").read_text() == "pw2" and len(sync.hook_runs()) == 3

    # A secret that stops matching (deleted) leaves its file, with a warning, and counts as a change.
    admin.delete_secret(SecretId=prefix + "api-token", ForceDeleteWithoutRecovery=True)
    result = sync.once()
    ok(result)
    assert f"{app / 'api-token'} was written by secret-sync for an entry or value it no longer manages; left in place" in result.stderr
    assert len(sync.hook_runs()) == 4

    # run: the binary one cannot be a variable, so run refuses to start (fail closed) and says which.
    refused = run(binary, ["run", "-c", str(sync.manifest), "--", "true"], sync.env)
    assert refused.returncode != 0 and "tls/key" in refused.stderr and "not text" in refused.stderr
    admin.delete_secret(SecretId=prefix + "tls/key", ForceDeleteWithoutRecovery=True)
    env = run(binary, ["run", "-c", str(sync.manifest), "--", "sh", "-c", 'printf %s "$APP_DB_PASSWORD"'], sync.env)
    ok(env)
    assert env.stdout == "pw2"


def test_tags_select_exactly_the_secrets_that_carry_them(sync, admin, names):
    tag = names("team").replace("/", "-")
    exact = admin.create_secret(Name=names("exact"), SecretString="yes", Tags=[{"Key": tag, "Value": "payments"}])
    admin.create_secret(Name=names("longer-value"), SecretString="no", Tags=[{"Key": tag, "Value": "payments-eu"}])
    admin.create_secret(Name=names("longer-key"), SecretString="no", Tags=[{"Key": tag + "x", "Value": "payments"}])
    admin.create_secret(Name=names("split"), SecretString="no", Tags=[{"Key": tag, "Value": "other"}, {"Key": "owner", "Value": "payments"}])
    sync.write(f"""\
        - select:
            tags: {{{tag}: payments}}
          name: payments
          directory: {sync.out}/payments
        """)
    result = sync.once()
    ok(result)
    written = sorted(str(p.relative_to(sync.out / "payments")) for p in (sync.out / "payments").rglob("*") if p.is_file())
    assert written == [names("exact")], written  # a selection by tags alone keeps the whole name
    assert (sync.out / "payments" / names("exact")).read_text() == "yes"
    state = json.loads((sync.state / "state.json").read_text())
    # CreateSession, BatchGetSecretValue and ListSecrets (in parallel).
    assert state["lastPass"]["apiCalls"] == 3 and state["secrets"]["payments"]["versionId"].startswith("1 value, ")
    assert exact["ARN"]


def test_validate_and_dry_run_describe_a_selection(sync, admin, names, binary):
    prefix = names("sel") + "/"
    admin.create_secret(Name=prefix + "a", SecretString="a")
    sync.write(f"""\
        - select:
            name_prefix: {prefix}
            tags: {{team: payments}}
          name: sel
          directory: {sync.out}/sel
        """)
    validate = run(binary, ["validate", "-c", str(sync.manifest)], sync.env)
    ok(validate)
    assert f"secrets sel: every secret with name_prefix={prefix} tag team=payments (AWSCURRENT, region us-west-2)" in validate.stdout
    assert f"directory {sync.out}/sel (one file each" in validate.stdout
    dry = sync.once("--dry-run")
    ok(dry)
    assert "everything is in sync" in dry.stdout  # nothing carries the tag
