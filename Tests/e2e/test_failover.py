"""Region failover: `fallback_regions:` reads replicas when a region is down or answers 5xx, and
`roles_anywhere.fallback:` gets credentials from a trust anchor in another region. A region is
made down by the fault proxy (every request signed for it fails) and by the emulator."""

from __future__ import annotations

import json
import textwrap

from conftest import run
from support import ok


def replicated(admin, name: str, value: str, region: str) -> str:
    created = admin.create_secret(Name=name, SecretString=value)
    admin.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": region}])
    return created["ARN"]


def fallback_manifest(sync, world, secrets: str, parameters: str = "", fallback_auth: bool = False):
    d = world.description()
    auth = sync.auth()
    if fallback_auth:
        auth += textwrap.indent(textwrap.dedent(f"""\
            fallback:
              - trust_anchor_arn: {d["fallback_trust_anchor_arn"]}
                profile_arn: {d["fallback_profile_arn"]}
            """), "    ")
    sync.write(secrets, auth=auth, parameters=parameters, extra=f"fallback_regions: [{d['fallback_region']}]\n")


def test_a_region_that_answers_5xx_is_read_from_its_replica_and_the_primary_is_tried_first_again(sync, world, admin, names, faults, binary):
    """Row: the secrets' region answers 503 to everything (with `fallback_regions:`) | after the retries, each secret is read from its replica in the next region (by name, or by its ARN with the region replaced); `status` and the metrics say which region served it; the next pass tries the primary first"""
    fallback = world.description()["fallback_region"]
    arn = replicated(admin, names("by-arn"), "arn-v1", fallback)
    replicated(admin, names("by-name"), "name-v1", fallback)
    fallback_manifest(sync, world, f"""\
        - id: {arn}
          name: by-arn
          files:
            - path: {sync.out}/by-arn
        - id: {names("by-name")}
          name: by-name
          files:
            - path: {sync.out}/by-name
        """)
    faults.down("us-west-2", "status:503")
    result = sync.once()
    ok(result)
    assert (sync.out / "by-arn").read_text() == "arn-v1" and (sync.out / "by-name").read_text() == "name-v1"
    assert f"trying the fallback region {fallback}" in result.stderr
    state = json.loads((sync.state / "state.json").read_text())
    assert state["secrets"]["by-arn"]["servedBy"] == fallback and state["secrets"]["by-name"]["servedBy"] == fallback
    status = run(binary, ["status", "-c", str(sync.manifest)], sync.env)
    assert f"served by: {fallback} (a fallback region" in status.stdout

    faults.up("us-west-2")
    faults.requests.clear()
    ok(result := sync.once())
    assert "fallback" not in result.stderr
    state = json.loads((sync.state / "state.json").read_text())
    assert "servedBy" not in state["secrets"]["by-arn"]  # the primary served it again


def test_an_unreachable_region_fails_over_but_access_denied_and_not_found_never_do(sync, world, admin, names, faults):
    """Row: the secrets' region resets every connection (with `fallback_regions:`) | replicas serve what they hold; a secret with no replica keeps its own region's failure and its last good file; "not found" from a reachable region is never failed over"""
    fallback = world.description()["fallback_region"]
    replicated(admin, names("present"), "v", fallback)
    fallback_manifest(sync, world, f"""\
        - id: {names("present")}
          name: present
          files:
            - path: {sync.out}/present
        - id: {names("absent")}
          name: absent
          files:
            - path: {sync.out}/absent
        """)
    # The primary resets every connection: unreachable; the replica serves what it has.
    faults.down("us-west-2", "reset")
    result = sync.once()
    assert result.returncode == 1
    assert (sync.out / "present").read_text() == "v"
    assert f"the fallback region {fallback} could not serve {names('absent')}" in result.stderr
    assert not (sync.out / "absent").exists()

    # With the primary up, "not found" is an answer: nothing is asked of the fallback region.
    faults.up("us-west-2")
    faults.inject([])
    result = sync.once()
    assert result.returncode == 1 and "ResourceNotFoundException" in result.stderr
    assert "trying the fallback region" not in result.stderr


def test_parameters_fail_over_to_their_copy_in_the_fallback_region(sync, world, ssm_admin, names, faults, binary):
    """Row: Parameter Store answers 500 in the parameters' region (with `fallback_regions:`) | the copy in the fallback region is read"""
    d = world.description()
    name = "/" + names("p")
    ssm_admin.put_parameter(Name=name, Value="primary", Type="SecureString")
    import boto3
    replica = boto3.client("ssm", endpoint_url=world.moto_endpoint, region_name=d["fallback_region"], verify=world.ca_bundle,
                           aws_access_key_id=d["admin_access_key_id"], aws_secret_access_key=d["admin_secret_access_key"])
    replica.put_parameter(Name=name, Value="copy", Type="SecureString")
    sync.env["AWS_ENDPOINT_URL_SSM"] = f"https://127.0.0.1:{faults.port}"
    fallback_manifest(sync, world, "", parameters=f"""\
        - id: {name}
          name: p
          files:
            - path: {sync.out}/p
        """)
    faults.down("us-west-2", "status:500")
    ok(sync.once())
    assert (sync.out / "p").read_text() == "copy"
    assert json.loads((sync.state / "state.json").read_text())["secrets"]["p"]["servedBy"] == d["fallback_region"]


def test_roles_anywhere_falls_back_to_the_trust_anchor_of_another_region(sync, world, admin, names, emulator):
    """Row: IAM Roles Anywhere answers 503 in the trust anchor's region (with `roles_anywhere.fallback:`) | CreateSession goes to the fallback trust anchor and profile in the next region; an access-denied answer is never failed over"""
    d = world.description()
    admin.create_secret(Name=names("s"), SecretString="v")
    fallback_manifest(sync, world, f"""\
        - id: {names("s")}
          files:
            - path: {sync.out}/s
        """, fallback_auth=True)
    emulator.post("/_emulator/down", {"regions": ["us-west-2"]})
    result = sync.once()
    ok(result)
    assert (sync.out / "s").read_text() == "v"
    assert f"trying the fallback trust anchor in {d['fallback_region']}" in result.stderr
    served = [r for r in emulator.requests() if r.get("status") == 201]
    assert len(served) == 1 and served[0]["region"] == d["fallback_region"]

    # An answer that means something is never failed over: a role the profiles do not list.
    emulator.post("/_emulator/down", {"regions": []})
    sync.role = d["unlisted_role_arn"]
    fallback_manifest(sync, world, f"""\
        - id: {names("s")}
          files:
            - path: {sync.out}/s
        """, fallback_auth=True)
    emulator.post("/_emulator/reset", {})
    result = sync.once()
    assert result.returncode == 1 and "is not associated with profile" in result.stderr
    assert {r.get("region") for r in emulator.requests()} == {"us-west-2"}
