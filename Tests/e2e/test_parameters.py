"""Parameter Store entries (`parameters:`) end to end: moto serves SSM with authentication on and
each parameter authorised by its ARN (testworld/moto_world.py); the role may read /t/* and /demo/*."""

from __future__ import annotations

import json
import subprocess

import pytest

from support import ok


def test_parameters_are_written_decrypted_with_their_version_and_hooks(sync, ssm_admin, admin, names):
    base = "/" + names("app")
    ssm_admin.put_parameter(Name=f"{base}/db-url", Value="postgres://db.internal/app", Type="SecureString")
    ssm_admin.put_parameter(Name=f"{base}/hosts", Value="a.internal,b.internal", Type="StringList")
    ssm_admin.put_parameter(Name=f"{base}/level", Value="info", Type="String")
    ssm_admin.put_parameter(Name=f"{base}/level", Value="debug", Type="String", Overwrite=True)
    admin.create_secret(Name=names("token"), SecretString="tok")
    sync.write(f"""\
        - id: {names("token")}
          name: token
          files:
            - path: {sync.out}/token
        """, parameters=f"""\
        - id: {base}/db-url
          name: db-url
          files:
            - path: {sync.out}/db-url
              mode: "0640"
          on_change:
            - {sync.hook("db")}
        - id: {base}/hosts
          name: hosts
          files:
            - path: {sync.out}/hosts
        - id: {base}/level
          name: level-first
          version: 1
          files:
            - path: {sync.out}/level-first
        - id: {base}/level
          name: level
          files:
            - path: {sync.out}/level
        """)
    result = sync.once()
    ok(result)
    assert (sync.out / "db-url").read_text() == "postgres://db.internal/app"
    assert oct((sync.out / "db-url").stat().st_mode & 0o777) == "0o640"
    assert (sync.out / "hosts").read_text() == "a.internal,b.internal"
    assert (sync.out / "level-first").read_text() == "info"
    assert (sync.out / "level").read_text() == "debug"
    assert sync.hook_runs() == ["db db-url"]
    state = json.loads((sync.state / "state.json").read_text())
    assert state["secrets"]["level"]["versionId"] == "2" and state["secrets"]["level-first"]["versionId"] == "1"
    assert state["secrets"]["db-url"]["arn"].endswith(f":parameter{base}/db-url")
    # CreateSession, two GetParameters (two versions of one parameter never share a call) and
    # one GetSecretValue.
    assert state["lastPass"]["apiCalls"] == 4, state["lastPass"]
    assert "postgres://" not in result.stderr and "postgres://" not in (sync.state / "state.json").read_text()

    # Nothing changed: nothing written, no hook. A new version: written, the hook runs once.
    before = sync.snapshot()
    ok(sync.once())
    assert sync.snapshot() == before and sync.hook_runs() == ["db db-url"]
    ssm_admin.put_parameter(Name=f"{base}/db-url", Value="postgres://db2.internal/app", Type="SecureString", Overwrite=True)
    ok(sync.once())
    assert (sync.out / "db-url").read_text() == "postgres://db2.internal/app"
    assert sync.hook_runs() == ["db db-url", "db db-url"]
    assert json.loads((sync.state / "state.json").read_text())["secrets"]["db-url"]["versionId"] == "2"


def test_a_label_selects_the_labelled_version(sync, ssm_admin, names):
    name = "/" + names("feature")
    ssm_admin.put_parameter(Name=name, Value="off", Type="String")
    ssm_admin.put_parameter(Name=name, Value="on", Type="String", Overwrite=True)
    ssm_admin.label_parameter_version(Name=name, ParameterVersion=1, Labels=["stable"])
    sync.write("", parameters=f"""\
        - id: {name}
          name: feature
          label: stable
          files:
            - path: {sync.out}/feature
        """)
    ok(sync.once())
    assert (sync.out / "feature").read_text() == "off"


def test_a_missing_parameter_fails_alone_and_keeps_the_last_good_file(sync, ssm_admin, names):
    here, gone = "/" + names("here"), "/" + names("gone")
    ssm_admin.put_parameter(Name=here, Value="v1", Type="SecureString")
    ssm_admin.put_parameter(Name=gone, Value="g1", Type="SecureString")
    sync.write("", parameters=f"""\
        - id: {here}
          name: here
          files:
            - path: {sync.out}/here
        - id: {gone}
          name: gone
          files:
            - path: {sync.out}/gone
        """)
    ok(sync.once())
    ssm_admin.delete_parameter(Name=gone)
    ssm_admin.put_parameter(Name=here, Value="v2", Type="SecureString", Overwrite=True)
    result = sync.once()
    assert result.returncode == 1
    assert f"Parameter Store has no parameter {gone} in us-west-2" in result.stderr
    assert "check the name (with its leading /)" in result.stderr
    assert (sync.out / "gone").read_text() == "g1" and (sync.out / "here").read_text() == "v2"
    assert "ParameterNotFound" not in json.loads((sync.state / "state.json").read_text())["secrets"]["here"].get("lastError", "")


def test_a_parameter_outside_the_roles_policy_fails_alone_with_the_permission_to_grant(sync, ssm_admin, names):
    allowed, outside = "/" + names("allowed"), "/elsewhere/" + names("x")
    ssm_admin.put_parameter(Name=allowed, Value="a", Type="SecureString")
    ssm_admin.put_parameter(Name=outside, Value="o", Type="SecureString")
    sync.write("", parameters=f"""\
        - id: {allowed}
          name: allowed
          files:
            - path: {sync.out}/allowed
        - id: {outside}
          name: outside
          files:
            - path: {sync.out}/outside
        """)
    # Both go in one GetParameters call, which AWS (and the patched moto) refuses as a whole;
    # asked again one by one, only the parameter outside the policy fails.
    result = sync.once()
    assert result.returncode == 1
    assert (sync.out / "allowed").read_text() == "a"
    assert not (sync.out / "outside").exists()
    assert f"Parameter Store refused GetParameters for {outside}: AccessDenied" in result.stderr
    assert "allow ssm:GetParameters on this parameter" in result.stderr
    assert "asking for each alone" in result.stderr
    state = json.loads((sync.state / "state.json").read_text())
    assert state["lastPass"]["apiCalls"] == 4  # CreateSession, the refused pair, then each alone


def test_run_puts_parameters_in_the_environment(sync, ssm_admin, names, binary):
    from conftest import run
    name = "/" + names("url")
    ssm_admin.put_parameter(Name=name, Value="https://api.internal", Type="SecureString")
    sync.write("", parameters=f"""\
        - id: {name}
          env:
            - name: API_URL
        """)
    result = run(binary, ["run", "-c", str(sync.manifest), "--", "sh", "-c", 'printf %s "$API_URL"'], sync.env)
    ok(result)
    assert result.stdout == "https://api.internal"


def test_validate_dry_run_and_status_name_parameters(sync, ssm_admin, names, binary):
    from conftest import run
    name = "/" + names("p")
    ssm_admin.put_parameter(Name=name, Value="x", Type="String")
    sync.write("", parameters=f"""\
        - id: {name}
          name: p
          version: 1
          files:
            - path: {sync.out}/p
        """)
    validate = run(binary, ["validate", "-c", str(sync.manifest)], sync.env)
    ok(validate)
    assert "valid (1 parameter)" in validate.stdout
    assert f"parameter p: {name} (version 1, region us-west-2)" in validate.stdout
    dry = sync.once("--dry-run")
    ok(dry)
    assert f"parameter p ({name}, version 1):" in dry.stdout and f"would create {sync.out}/p" in dry.stdout
    ok(sync.once())
    status = json.loads(run(binary, ["status", "-c", str(sync.manifest), "--json"], sync.env).stdout)
    assert status["secrets"][0]["kind"] == "parameter" and status["secrets"][0]["versionId"] == "1"
    assert "p [ok]: parameter " + name in run(binary, ["status", "-c", str(sync.manifest)], sync.env).stdout


def test_a_path_entry_writes_every_parameter_below_it_and_follows_additions(sync, ssm_admin, names, binary):
    from conftest import run
    base = "/" + names("flags")
    ssm_admin.put_parameter(Name=f"{base}/new-ui", Value="on", Type="String")
    ssm_admin.put_parameter(Name=f"{base}/db/url", Value="postgres://x", Type="SecureString")
    ssm_admin.put_parameter(Name=base + "x/not-below", Value="no", Type="String")  # a sibling that only shares the prefix
    sync.write("", parameters=f"""\
        - path: {base}/
          name: flags
          directory: {sync.out}/flags
          mode: "0640"
          env:
            - prefix: FLAG_
          on_change:
            - {sync.hook("flags")}
        """)
    ok(sync.once())
    flags = sync.out / "flags"
    assert sorted(str(p.relative_to(flags)) for p in flags.rglob("*") if p.is_file()) == ["db/url", "new-ui"]
    assert (flags / "db" / "url").read_text() == "postgres://x" and (flags / "new-ui").read_text() == "on"
    assert oct((flags / "new-ui").stat().st_mode & 0o777) == "0o640"
    assert sync.hook_runs() == ["flags flags"]
    state = json.loads((sync.state / "state.json").read_text())["secrets"]["flags"]
    assert state["versionId"].startswith("2 values, ") and sorted(state["files"]) == [str(flags / "db" / "url"), str(flags / "new-ui")]

    ok(sync.once())
    assert sync.hook_runs() == ["flags flags"]  # nothing new: no hook
    ssm_admin.put_parameter(Name=f"{base}/limit", Value="10", Type="String")
    ok(sync.once())
    assert (flags / "limit").read_text() == "10" and sync.hook_runs() == ["flags flags", "flags flags"]

    # Deleted below the path: the file stays (secret-sync never removes without prune: true),
    # with a warning; the entry's version changes, so its hook runs.
    ssm_admin.delete_parameter(Name=f"{base}/limit")
    result = sync.once()
    ok(result)
    assert f"{flags / 'limit'} was written by secret-sync for an entry or value it no longer manages; left in place" in result.stderr
    assert (flags / "limit").exists() and len(sync.hook_runs()) == 3

    env = run(binary, ["run", "-c", str(sync.manifest), "--", "sh", "-c", 'printf "%s|%s" "$FLAG_NEW_UI" "$FLAG_DB_URL"'], sync.env)
    ok(env)
    assert env.stdout == "on|postgres://x"


def test_a_parameter_name_that_climbs_out_of_the_directory_writes_nothing(sync, ssm_admin, names):
    """Row: a parameter below a `path:` named `../escape` | the entry fails before anything of it is written; nothing outside its directory is touched"""
    base = "/" + names("climb")
    ssm_admin.put_parameter(Name=f"{base}/ok", Value="fine", Type="String")
    sync.write("", parameters=f"""\
        - path: {base}
          name: climb
          directory: {sync.out}/climb
        """)
    ok(sync.once())
    ssm_admin.put_parameter(Name=f"{base}/ok", Value="changed", Type="String", Overwrite=True)
    ssm_admin.put_parameter(Name=f"{base}/../escape", Value="owned", Type="String")
    # moto, like a hostile or broken endpoint, lists the name under the path.
    listed = [p["Name"] for p in ssm_admin.get_parameters_by_path(Path=base, Recursive=True)["Parameters"]]
    assert f"{base}/../escape" in listed, listed
    result = sync.once()
    assert result.returncode == 1
    assert "cannot name a file" in result.stderr
    assert (sync.out / "climb" / "ok").read_text() == "fine"  # nothing of the entry was written
    assert not (sync.out / "escape").exists()


@pytest.mark.parametrize("fault, refusal", [
    ("flood:10:4000", "holds more than 1000 values, secret-sync's bound for one entry"),
    ("flood:11:10", "answered 11 values in one page, more than the 10 asked (MaxResults)"),
    ("flood:1:9000", "with 9000 bytes, more than Parameter Store's 8192"),
])
def test_a_path_without_end_is_refused_within_bounds(sync, ssm_admin, names, faults, fault, refusal):
    """Row: a stand-in Parameter Store answering a `path:` entry with pages that never end, a page wider than MaxResults, or a value over 8 KB | the entry fails naming the bound (1,000 values or 32 MiB an entry, the API's page size and value size), after at most 101 pages; nothing of it is written"""
    base = "/" + names("flood")
    ssm_admin.put_parameter(Name=f"{base}/real", Value="v", Type="String")
    sync.env["AWS_ENDPOINT_URL_SSM"] = sync.env["AWS_ENDPOINT_URL_SECRETS_MANAGER"]
    sync.write("", parameters=f"- path: {base}/\n  name: flood\n  directory: {sync.out}/flood\n")
    faults.inject([fault] * 1200)
    # Without the bounds, 10,000 pages of 40 KB were held before the page limit ended it.
    result = subprocess.run([str(sync.binary), "once", "-c", str(sync.manifest)], env=sync.env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert refusal in result.stderr, result.stderr
    assert not (sync.out / "flood").exists()
    assert len([request for request in faults.requests if request.startswith("flood")]) <= 101
