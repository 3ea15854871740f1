"""The Roles Anywhere emulator, proven with an independent client (iam-rolesanywhere-session),
before any test relies on it to judge secret-sync."""

from __future__ import annotations

import pytest
from iam_rolesanywhere_session import IAMRolesAnywhereSession


def independent_session(world, certificate: str, key: str, chain: str | None = None):
    d = world.description()
    kwargs = dict(
        profile_arn=d["profile_arn"], role_arn=d["role_arn"], trust_anchor_arn=d["trust_anchor_arn"],
        certificate=open(certificate, "rb").read(), private_key=open(key, "rb").read(),
        region=d["region"], endpoint=world.emulator_endpoint.removeprefix("https://"),
        verify=world.ca_bundle,
    )
    if chain:
        kwargs["certificate_chain"] = open(chain, "rb").read()
    return IAMRolesAnywhereSession(**kwargs)


@pytest.mark.parametrize("name", ["rsa2048-pkcs8", "ec-p256-pkcs8", "ec-p384-sec1"])
@pytest.mark.parametrize("chained", [False, True], ids=["direct", "chained"])
def test_independent_client_gets_credentials_moto_accepts(world, emulator, name, chained):
    pki = world.pki / "clients"
    session = independent_session(
        world, str(pki / ("chained" if chained else "direct") / f"{name}.crt"), str(pki / f"{name}.key"),
        str(pki / "chain.pem") if chained else None,
    ).get_session(region=world.description()["region"])
    client = session.client("secretsmanager", endpoint_url=world.moto_endpoint, verify=world.ca_bundle)
    assert client.get_secret_value(SecretId="demo/api-token")["SecretString"] == "tok-demo-0123456789"
    [record] = emulator.requests()
    assert record["status"] == 201
    assert record["chain_length"] == (1 if chained else 0)
    # The Python client puts every member in the body, not the query: both forms are accepted.
    assert record["arns_in_query"] == []


def test_untrusted_issuer_is_refused(world, emulator):
    pki = world.pki / "broken"
    session = independent_session(world, str(pki / "untrusted.crt"), str(pki / "client.key"))
    with pytest.raises(Exception, match="Untrusted signing certificate"):
        session.get_session(region="us-west-2").get_credentials().get_frozen_credentials()
    assert emulator.requests()[0]["error"] == "AccessDeniedException"


def test_tampered_signature_is_refused(world, emulator, monkeypatch):
    """Flip one bit of the signature the independent client computed: the emulator must notice."""
    from iam_rolesanywhere_session.iam_rolesanywhere_session import IAMRolesAnywhereSigner

    real_signature = IAMRolesAnywhereSigner.signature

    def tampered(self, string_to_sign, *args):
        signature = real_signature(self, string_to_sign, *args)
        return signature[:-1] + format(int(signature[-1], 16) ^ 1, "x")

    monkeypatch.setattr(IAMRolesAnywhereSigner, "signature", tampered)
    pki = world.pki / "clients"
    session = independent_session(world, str(pki / "direct" / "rsa2048-pkcs8.crt"), str(pki / "rsa2048-pkcs8.key"))
    with pytest.raises(Exception, match="Invalid signature"):
        session.get_session(region="us-west-2").get_credentials().get_frozen_credentials()
    assert emulator.requests()[-1]["error"] == "AccessDeniedException"


def test_request_outside_date_window_is_refused(world, emulator):
    emulator.skew_clock(3600)
    pki = world.pki / "clients"
    session = independent_session(world, str(pki / "direct" / "ec-p256-pkcs8.crt"), str(pki / "ec-p256-pkcs8.key"))
    with pytest.raises(Exception, match="Signature expired"):
        session.get_session(region="us-west-2").get_credentials().get_frozen_credentials()


def test_moto_checks_signatures_and_policies(world):
    """moto must really authenticate: a wrong secret key and a missing permission both fail."""
    d = world.description()
    wrong = world.boto_client("secretsmanager", keys=(d["admin_access_key_id"], "not-the-secret-key"))
    with pytest.raises(Exception, match="InvalidSignature|SignatureDoesNotMatch|signature"):
        wrong.get_secret_value(SecretId="demo/api-token")
    sts = world.boto_client("sts", keys=(d["admin_access_key_id"], d["admin_secret_access_key"]))
    assert sts.get_caller_identity()["Arn"].endswith("user/world-admin")
