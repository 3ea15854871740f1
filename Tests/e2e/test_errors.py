"""Each failure people actually hit gives a message they can act on, a non-zero exit and no stdout."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from conftest import credential_process_args, run


def fails(result, exit_code: int = 1) -> str:
    assert result.returncode == exit_code, (result.returncode, result.stderr)
    assert result.stdout == ""
    # Warnings (e.g. retries) may come first; the error is the last thing said.
    assert "secret-sync: error: " in result.stderr
    return result.stderr[result.stderr.index("secret-sync: error: "):]


def test_key_unreadable_names_file_owner_mode_and_user(binary, world, clean_env, shared_dir):
    pki = world.pki / "clients"
    certificate, key = shared_dir / "client.crt", shared_dir / "client.key"
    shutil.copy(pki / "direct" / "ec-p256-sec1.crt", certificate)
    shutil.copy(pki / "ec-p256-sec1.key", key)
    certificate.chmod(0o644)
    key.chmod(0o600)
    os.chown(key, 0, 0)
    clean_env["HOME"] = "/"
    result = run(binary, credential_process_args(world, str(certificate), str(key)), clean_env, user="nobody")
    stderr = fails(result)
    uid = int(os.popen("id -u nobody").read())
    assert f"cannot read private key {key}: permission denied (file is root:root mode 0600; secret-sync runs as nobody (uid {uid}" in stderr
    assert "fix: run secret-sync as a user that can read it" in stderr


def test_key_missing(binary, world, clean_env, tmp_path):
    pki = world.pki / "clients"
    stderr = fails(run(binary, credential_process_args(world, str(pki / "direct" / "ec-p256-sec1.crt"), str(tmp_path / "nope.key")), clean_env))
    assert f"cannot read private key {tmp_path / 'nope.key'}: no such file" in stderr


def test_key_does_not_match_certificate(binary, world, clean_env):
    pki = world.pki / "clients"
    stderr = fails(run(binary, credential_process_args(world, str(pki / "direct" / "ec-p256-sec1.crt"), str(pki / "rsa2048-pkcs8.key")), clean_env))
    assert f"private key {pki / 'rsa2048-pkcs8.key'} (RSA 2048) does not match certificate {pki / 'direct' / 'ec-p256-sec1.crt'} (EC P-256, subject O=secret-sync test,CN=ec-p256-sec1)" in stderr
    assert "fix: use the key the certificate was issued for" in stderr


def test_certificate_expired(binary, world, clean_env):
    broken = world.pki / "broken"
    stderr = fails(run(binary, credential_process_args(world, str(broken / "expired.crt"), str(broken / "client.key")), clean_env))
    assert re.search(rf"certificate {broken / 'expired.crt'} expired on 2021-01-01T00:00:00Z, \d+d( \d+[hm])? ago \(this host's clock reads ", stderr)
    assert "fix: renew the certificate" in stderr


def test_certificate_not_yet_valid(binary, world, clean_env):
    broken = world.pki / "broken"
    stderr = fails(run(binary, credential_process_args(world, str(broken / "not-yet-valid.crt"), str(broken / "client.key")), clean_env))
    assert f"certificate {broken / 'not-yet-valid.crt'} is not yet valid: valid from 2099-12-31T00:00:00Z" in stderr
    assert "if the clock is wrong, fix it" in stderr


@pytest.mark.parametrize("offset, direction", [(7200, "behind"), (-7200, "ahead of")])
def test_clock_skew_says_by_how_much(binary, world, emulator, clean_env, offset, direction):
    emulator.skew_clock(offset)
    pki = world.pki / "clients"
    stderr = fails(run(binary, credential_process_args(world, str(pki / "direct" / "ec-p256-sec1.crt"), str(pki / "ec-p256-sec1.key")), clean_env))
    assert "IAM Roles Anywhere refused CreateSession: AccessDeniedException: Signature expired" in stderr
    assert re.search(rf"this host's clock is 2h( \d+s)? {direction} the server's", stderr), stderr
    assert "fix: fix the clock" in stderr


def test_untrusted_ca_gives_aws_message_and_the_fix(binary, world, emulator, clean_env):
    broken = world.pki / "broken"
    stderr = fails(run(binary, credential_process_args(world, str(broken / "untrusted.crt"), str(broken / "client.key")), clean_env))
    assert "IAM Roles Anywhere refused CreateSession: AccessDeniedException: Untrusted signing certificate (HTTP 403, request ID emulator-" in stderr
    assert "must chain to the trust anchor's CA" in stderr


def test_missing_intermediates_are_pointed_out(binary, world, emulator, clean_env):
    pki = world.pki / "clients"
    stderr = fails(run(binary, credential_process_args(world, str(pki / "chained" / "ec-p256-sec1.crt"), str(pki / "ec-p256-sec1.key")), clean_env))
    assert "Untrusted signing certificate" in stderr
    assert "give the intermediates bundle (intermediates: / --intermediates)" in stderr


def test_access_denied_from_create_session(binary, world, emulator, clean_env):
    pki = world.pki / "clients"
    args = credential_process_args(world, str(pki / "direct" / "ec-p256-sec1.crt"), str(pki / "ec-p256-sec1.key"),
                                   role=world.description()["unlisted_role_arn"])
    stderr = fails(run(binary, args, clean_env))
    assert f"AccessDeniedException: Role {world.description()['unlisted_role_arn']} is not associated with profile" in stderr
    assert "the profile lists the role" in stderr


def test_unknown_trust_anchor(binary, world, emulator, clean_env):
    pki = world.pki / "clients"
    args = credential_process_args(world, str(pki / "direct" / "ec-p256-sec1.crt"), str(pki / "ec-p256-sec1.key"))
    args[args.index("--trust-anchor-arn") + 1] = "arn:aws:rolesanywhere:us-west-2:123456789012:trust-anchor/unknown"
    stderr = fails(run(binary, args, clean_env))
    assert "ResourceNotFoundException: Trust anchor arn:aws:rolesanywhere:us-west-2:123456789012:trust-anchor/unknown not found (HTTP 404" in stderr
    assert "fix: check the trust anchor, profile and role ARNs" in stderr


def test_unsupported_key_type(binary, world, clean_env):
    broken = world.pki / "broken"
    stderr = fails(run(binary, credential_process_args(world, str(broken / "ed25519.crt"), str(broken / "ed25519.key")), clean_env))
    assert f"unsupported algorithm: private key {broken / 'ed25519.key'} is ED25519; IAM Roles Anywhere needs RSA (2048 bits or more) or EC (P-256, P-384 or P-521)" in stderr


def test_encrypted_key(binary, world, clean_env):
    pki, broken = world.pki / "clients", world.pki / "broken"
    stderr = fails(run(binary, credential_process_args(world, str(pki / "direct" / "ec-p256-pkcs8.crt"), str(broken / "encrypted.key")), clean_env))
    assert f"private key {broken / 'encrypted.key'} is encrypted with a passphrase" in stderr
    assert "openssl pkey -in" in stderr


def test_certificate_file_holds_a_key(binary, world, clean_env):
    pki = world.pki / "clients"
    stderr = fails(run(binary, credential_process_args(world, str(pki / "ec-p256-sec1.key"), str(pki / "ec-p256-sec1.key")), clean_env))
    assert "no CERTIFICATE block (found: EC PARAMETERS, EC PRIVATE KEY)" in stderr


def test_intermediates_bundle_with_a_key_in_it(binary, world, clean_env):
    pki = world.pki / "clients"
    args = credential_process_args(world, str(pki / "chained" / "ec-p256-sec1.crt"), str(pki / "ec-p256-sec1.key"), chain=str(pki / "ec-p256-pkcs8.key"))
    stderr = fails(run(binary, args, clean_env))
    assert "invalid certificate chain" in stderr and "block 1 is PRIVATE KEY, not CERTIFICATE" in stderr


@pytest.mark.parametrize("flag, value, message", [
    ("--trust-anchor-arn", "not-an-arn", "failed to parse trust anchor arn: 'not-an-arn'"),
    ("--profile-arn", "arn:aws:rolesanywhere:eu-west-1:123456789012:profile/x", "trust anchor and profile regions don't match: us-west-2 (aws) vs eu-west-1 (aws)"),
    ("--role-arn", "arn:aws:iam::123456789012:user/bob", "failed to parse role arn: 'arn:aws:iam::123456789012:user/bob'"),
    ("--session-duration", "60", "session duration 60s is outside IAM Roles Anywhere's range of 900 to 43200 seconds"),
    ("--endpoint", "rolesanywhere.example", "invalid endpoint URL 'rolesanywhere.example' (from --endpoint)"),
])
def test_bad_arguments_are_usage_errors(binary, world, emulator, clean_env, flag, value, message):
    pki = world.pki / "clients"
    args = credential_process_args(world, str(pki / "direct" / "ec-p256-sec1.crt"), str(pki / "ec-p256-sec1.key"))
    if flag in args:
        args[args.index(flag) + 1] = value
    else:
        args += [flag, value]
    stderr = fails(run(binary, args, clean_env), exit_code=2)
    assert message in stderr
    assert emulator.requests() == []  # nothing was sent


def test_no_verify_ssl_is_refused_with_the_alternative(binary, world, clean_env):
    pki = world.pki / "clients"
    result = run(binary, credential_process_args(world, str(pki / "direct" / "ec-p256-sec1.crt"), str(pki / "ec-p256-sec1.key")) + ["--no-verify-ssl"], clean_env)
    assert result.returncode == 2 and result.stdout == ""
    assert "--no-verify-ssl is not supported" in result.stderr and "AWS_CA_BUNDLE" in result.stderr


def test_unreachable_endpoint(binary, world, clean_env):
    clean_env["AWS_ENDPOINT_URL_ROLESANYWHERE"] = "https://127.0.0.1:9"
    pki = world.pki / "clients"
    stderr = fails(run(binary, credential_process_args(world, str(pki / "direct" / "ec-p256-sec1.crt"), str(pki / "ec-p256-sec1.key")), clean_env))
    assert "secret-sync: error: cannot reach IAM Roles Anywhere at https://127.0.0.1:9 (from AWS_ENDPOINT_URL_ROLESANYWHERE): cannot connect to 127.0.0.1" in stderr
