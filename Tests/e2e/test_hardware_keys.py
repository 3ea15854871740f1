"""Keys that never touch the disk: a SoftHSM2 token (PKCS#11) and a swtpm TPM 2.0.

Each key signs CreateSession for the local Roles Anywhere emulator, which checks the signature with
Python's cryptography against the certificate — independently of secret-sync's own code. The keys
are provisioned with the commands README.md gives: existing file keys moved into the token or the
TPM (so their certificates keep working), and keys generated inside the TPM with certificates
issued for them. A missing tool or a token that does not start fails these tests; they never skip.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

from conftest import credential_process_args, run
from support import Notifications, Sync, start_daemon, stop, wait_for
from testworld.tokens import PKCS11_SPY, SOFTHSM_MODULE, SoftHSM, SwTPM, build_flagging_module, issue_certificate

PIN = "246810"
WRONG_PIN = "135791"
TPM_AUTH = "tpm-auth-7f3a"
SECRET = "tok-demo-0123456789"


@pytest.fixture(scope="session")
def softhsm(world):
    directory = Path(tempfile.mkdtemp(prefix="secret-sync-softhsm-"))
    hsm = SoftHSM(directory)
    hsm.init_token("ira", PIN)
    clients = world.pki / "clients"
    # README's recipe for moving an existing key file into a token.
    hsm.import_key(clients / "rsa2048-pkcs8.key", "ira", "rsa-key", "01", PIN)
    hsm.import_key(clients / "ec-p256-pkcs8.key", "ira", "ec-key", "02", PIN)
    request = hsm.generate_key("ira", "generated-key", "03", PIN, directory / "generated.csr", "token-generated")
    hsm.generated_certificate = str(issue_certificate(world.pki, request, directory / "generated.crt"))
    request = hsm.generate_key("ira", "always-auth-key", "04", PIN, directory / "always-auth.csr", "token-always-auth",
                               always_authenticate=True)
    hsm.always_auth_certificate = str(issue_certificate(world.pki, request, directory / "always-auth.crt"))
    hsm.pin_file = directory / "pin"
    hsm.pin_file.write_text(PIN + "\n")  # `echo PIN > file`: the newline is not part of the PIN
    hsm.pin_file.chmod(0o400)
    yield hsm
    shutil.rmtree(directory, ignore_errors=True)


TOKEN_KEYS = {"rsa": ("rsa-key", "rsa2048-pkcs8"), "ec": ("ec-key", "ec-p256-pkcs8"), "generated": ("generated-key", None),
              "always-auth": ("always-auth-key", None)}


def token_uri(hsm: SoftHSM, kind: str, module: bool = True, pin_file: Path | None = None, module_path: str = SOFTHSM_MODULE) -> str:
    query = [f"module-path={module_path}"] if module else []
    query.append(f"pin-source=file:{pin_file or hsm.pin_file}")
    return f"pkcs11:token=ira;object={TOKEN_KEYS[kind][0]};type=private?" + "&".join(query)


def token_certificate(world, kind: str, hsm: SoftHSM | None = None) -> str:
    if kind == "generated":
        return hsm.generated_certificate
    if kind == "always-auth":
        return hsm.always_auth_certificate
    return str(world.pki / "clients" / "direct" / f"{TOKEN_KEYS[kind][1]}.crt")


class TPMKey:
    def __init__(self, name: str, private_key: str, certificate: str, algorithm: str, auth: str | None):
        self.name, self.private_key, self.certificate, self.algorithm, self.auth = name, private_key, certificate, algorithm, auth


@pytest.fixture(scope="session")
def swtpm(world):
    directory = Path(tempfile.mkdtemp(prefix="secret-sync-swtpm-"))
    tpm = SwTPM(directory)
    try:
        provision(tpm, world, directory)
        yield tpm
    finally:
        tpm.stop()
        shutil.rmtree(directory, ignore_errors=True)


def provision(tpm: SwTPM, world, directory: Path) -> None:
    clients = world.pki / "clients"
    keys = []
    # Keys made inside the TPM, with certificates issued for them.
    for algorithm in ("rsa", "ec"):
        path = tpm.generate_tss2(algorithm, directory / f"generated-{algorithm}.tss2.pem")
        request = tpm.certificate_request(str(path), f"tpm-generated-{algorithm}", directory / f"generated-{algorithm}.csr")
        certificate = issue_certificate(world.pki, request, directory / f"generated-{algorithm}.crt")
        keys.append(TPMKey(f"generated-{algorithm}", str(path), str(certificate), algorithm, None))
    # Existing file keys moved into the TPM: their certificates keep working.
    path = tpm.import_to_tss2(clients / "rsa2048-pkcs8.key", "rsa", directory / "imported-rsa.tss2.pem", auth=TPM_AUTH)
    keys.append(TPMKey("imported-rsa-tss2-auth", str(path), str(clients / "direct" / "rsa2048-pkcs8.crt"), "rsa", TPM_AUTH))
    path = tpm.import_to_tss2(clients / "ec-p256-sec1.key", "ecc", directory / "imported-ec.tss2.pem")
    keys.append(TPMKey("imported-ec-tss2", str(path), str(clients / "direct" / "ec-p256-sec1.crt"), "ec", None))
    handle = tpm.import_to_handle(clients / "ec-p256-pkcs8.key", "ecc", "0x81000010")
    keys.append(TPMKey("imported-ec-handle", handle, str(clients / "direct" / "ec-p256-pkcs8.crt"), "ec", None))
    handle = tpm.import_to_handle(clients / "rsa2048-pkcs1.key", "rsa", "0x81000011", auth=TPM_AUTH)
    keys.append(TPMKey("imported-rsa-handle-auth", handle, str(clients / "direct" / "rsa2048-pkcs1.crt"), "rsa", TPM_AUTH))
    tpm.keys = {key.name: key for key in keys}
    tpm.auth_file = directory / "tpm-auth"
    tpm.auth_file.write_text(TPM_AUTH + "\n")
    tpm.auth_file.chmod(0o400)


@pytest.fixture
def tpm(swtpm):
    """The session's TPM, checked to be left clean: nothing loaded, no lockout."""
    assert swtpm.lockout_counter() == 0
    yield swtpm
    leftovers = swtpm.loaded_objects()
    swtpm.flush()
    swtpm.clear_lockout()
    assert leftovers.strip() == "", f"objects or sessions left loaded in the TPM: {leftovers}"


def auth_block(world, certificate: str, private_key: str, tpm_auth_file: Path | None = None) -> str:
    d = world.description()
    text = textwrap.dedent(f"""\
        auth:
          roles_anywhere:
            certificate: {certificate}
            private_key: {private_key}
            trust_anchor_arn: {d["trust_anchor_arn"]}
            profile_arn: {d["profile_arn"]}
            role_arn: {d["role_arn"]}
        """)
    if tpm_auth_file:
        text += f"    tpm_auth_file: {tpm_auth_file}\n"
    return text


def token_sync(binary, world, clean_env, shared_dir, extra_env: dict[str, str]) -> Sync:
    env = {**clean_env, **extra_env}
    return Sync(binary, world, env, shared_dir)


def write_token_secret(sync: Sync, auth: str, extra: str = "") -> None:
    sync.write(f"""\
        - id: demo/api-token
          files:
            - path: {sync.out}/token
        """, auth=auth, extra=extra)


def aws_cli_reads_secret(binary, env: dict[str, str], args: list[str]) -> None:
    command = " ".join(f"'{arg}'" if any(c in arg for c in ";&?") else arg for arg in [str(binary), *args])
    with open(env["AWS_CONFIG_FILE"], "w") as f:
        f.write(f"[profile ira]\nregion = us-west-2\ncredential_process = {command}\n")
    result = subprocess.run(
        ["aws", "--profile", "ira", "secretsmanager", "get-secret-value", "--secret-id", "demo/api-token", "--query", "SecretString",
         "--output", "text"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == SECRET


def spy_env(log: Path) -> dict[str, str]:
    return {"PKCS11SPY": SOFTHSM_MODULE, "PKCS11SPY_OUTPUT": str(log)}


def logins(log: Path) -> int:
    return len(re.findall(r"C_Login\b", log.read_text())) if log.exists() else 0


# MARK: PKCS#11 (SoftHSM2)


@pytest.mark.parametrize("module", [True, False], ids=["module-path", "p11-kit-proxy"])
@pytest.mark.parametrize("kind", ["rsa", "ec", "generated"])
def test_once_signs_with_a_token_key(binary, world, emulator, clean_env, shared_dir, softhsm, kind, module):
    sync = token_sync(binary, world, clean_env, shared_dir, softhsm.env())
    write_token_secret(sync, auth_block(world, token_certificate(world, kind, softhsm), token_uri(softhsm, kind, module=module)))
    result = sync.once()
    assert result.returncode == 0, result.stderr
    assert (sync.out / "token").read_text() == SECRET
    [record] = emulator.requests()
    assert record["status"] == 201
    assert record["algorithm"] == ("AWS4-X509-RSA-SHA256" if kind == "rsa" else "AWS4-X509-ECDSA-SHA256")
    assert PIN not in result.stderr


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_credential_process_signs_with_a_token_key_for_the_aws_cli(binary, world, emulator, clean_env, softhsm, kind):
    env = {**clean_env, **softhsm.env()}
    # No module-path in the URI: --pkcs11-lib names the module, as with aws_signing_helper.
    uri = token_uri(softhsm, kind, module=False)
    aws_cli_reads_secret(binary, env, [*credential_process_args(world, token_certificate(world, kind), uri), "--pkcs11-lib", SOFTHSM_MODULE])
    [record] = emulator.requests()
    assert record["status"] == 201


def test_a_key_that_wants_the_pin_for_every_signature_gets_it_again(binary, world, emulator, clean_env, softhsm, tmp_path):
    """CKA_ALWAYS_AUTHENTICATE: one user login and one context-specific login per CreateSession."""
    log = tmp_path / "spy.log"
    env = {**clean_env, **softhsm.env(), **spy_env(log)}
    uri = token_uri(softhsm, "always-auth", module_path=PKCS11_SPY)
    result = run(binary, [*credential_process_args(world, token_certificate(world, "always-auth", softhsm), uri), "--reuse-pin"], env)
    assert result.returncode == 0, result.stderr
    assert logins(log) == 2
    assert "CKU_CONTEXT_SPECIFIC" in log.read_text()
    [record] = emulator.requests()
    assert record["status"] == 201


def test_a_wrong_pin_is_tried_once_and_named_without_its_value(binary, world, emulator, clean_env, softhsm, tmp_path):
    """Row: a wrong PIN in the token's PIN file | exactly one `C_Login` (counted by pkcs11-spy), refused with the file named and the PIN never printed; nothing is sent"""
    wrong = tmp_path / "pin"
    wrong.write_text(WRONG_PIN + "\n")
    log = tmp_path / "spy.log"
    env = {**clean_env, **softhsm.env(), **spy_env(log)}
    uri = token_uri(softhsm, "rsa", pin_file=wrong, module_path=PKCS11_SPY)
    result = run(binary, credential_process_args(world, token_certificate(world, "rsa"), uri), env)
    assert result.returncode == 1
    assert f"refused the PIN in {wrong} (CKR_PIN_INCORRECT)" in result.stderr
    assert "not tried again" in result.stderr
    assert WRONG_PIN not in result.stderr and PIN not in result.stderr
    assert logins(log) == 1
    assert emulator.requests() == []


def test_the_daemon_does_not_retry_a_refused_pin_until_the_file_changes(binary, world, emulator, clean_env, shared_dir, softhsm, tmp_path):
    """Row: the daemon with a wrong token PIN, pass after pass | still one `C_Login` in all (no lockout by retry); the first pass after the PIN file changes logs in and syncs"""
    pin = shared_dir / "pin"
    pin.write_text(WRONG_PIN + "\n")
    log = tmp_path / "spy.log"
    sync = token_sync(binary, world, clean_env, shared_dir, {**softhsm.env(), **spy_env(log)})
    write_token_secret(sync, auth_block(world, token_certificate(world, "ec"), token_uri(softhsm, "ec", pin_file=pin, module_path=PKCS11_SPY)),
                       extra="interval: 1s\n")
    notify = Notifications(tmp_path)
    daemon = start_daemon(sync, notify)
    try:
        # The daemon retries failed passes (backoff capped at the interval); count several.
        assert all(status.startswith("pass incomplete") for status in notify.passes(5))
        assert logins(log) == 1
        assert not (sync.out / "token").exists()
        # A reload is the operator saying "try again": one more login, with the same wrong PIN.
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: logins(log) == 2, 30, "a login after SIGHUP")
        notify.passes(3)
        assert logins(log) == 2
        pin.write_text(PIN + "\n")
        wait_for(lambda: (sync.out / "token").exists(), 30, "the pass after the PIN file was fixed")
        assert logins(log) == 3
    finally:
        stderr = stop(daemon)
    assert stderr.count("refused the PIN") >= 3, stderr  # each failed pass says why
    assert WRONG_PIN not in stderr and PIN not in stderr


CKF_USER_PIN_FINAL_TRY = 0x20000
CKF_USER_PIN_LOCKED = 0x40000


@pytest.mark.parametrize("flag, message", [
    (CKF_USER_PIN_LOCKED, "is locked after too many wrong PINs; secret-sync did not try it"),
    (CKF_USER_PIN_FINAL_TRY, "has one PIN attempt left before it locks; secret-sync will not spend it unattended"),
], ids=["locked", "final-try"])
def test_a_token_near_or_at_lockout_is_not_logged_into(binary, world, emulator, clean_env, softhsm, tmp_path, flag, message):
    # pkcs11-spy (counting logins) → the flagging module (adding the flag) → SoftHSM2.
    flagging = build_flagging_module(tmp_path / "flagging.so")
    log = tmp_path / "spy.log"
    env = {**clean_env, **softhsm.env(), **spy_env(log), "PKCS11SPY": str(flagging), "FLAGGING_REAL_MODULE": SOFTHSM_MODULE,
           "FLAGGING_TOKEN_FLAGS": hex(flag)}
    result = run(binary, credential_process_args(world, token_certificate(world, "rsa"), token_uri(softhsm, "rsa", module_path=PKCS11_SPY)), env)
    assert result.returncode == 1
    assert message in result.stderr
    assert "C_GetTokenInfo" in log.read_text()  # the token was asked…
    assert logins(log) == 0  # …and no PIN was spent
    assert emulator.requests() == []


def test_pkcs11_errors_say_what_is_wrong(binary, world, clean_env, softhsm, tmp_path):
    env = {**clean_env, **softhsm.env()}
    certificate = token_certificate(world, "rsa")

    def attempt(uri: str, certificate: str = certificate) -> subprocess.CompletedProcess:
        return run(binary, credential_process_args(world, certificate, uri), env)

    result = attempt(token_uri(softhsm, "rsa", module_path="/usr/lib/no-such-module.so"))
    assert result.returncode == 1 and "PKCS#11 module /usr/lib/no-such-module.so not found" in result.stderr

    result = attempt(token_uri(softhsm, "rsa").replace("token=ira", "token=absent"))
    assert result.returncode == 1
    assert "no PKCS#11 token in /usr/lib/softhsm/libsofthsm2.so matches" in result.stderr and "present: 'ira'" in result.stderr

    result = attempt(token_uri(softhsm, "rsa").replace("object=rsa-key", "object=missing"))
    assert result.returncode == 1
    assert "holds no private key with object=missing" in result.stderr and "object=rsa-key;id=%01" in result.stderr

    result = attempt(f"pkcs11:token=ira;object=rsa-key?module-path={SOFTHSM_MODULE}")
    assert result.returncode == 2 and "needs a PIN and the PKCS#11 URI names no pin-source" in result.stderr

    result = attempt(token_uri(softhsm, "ec"))  # the EC key with the RSA key's certificate
    assert result.returncode == 1
    assert "does not match the certificate (RSA 2048" in result.stderr and "does not verify with the certificate's public key" in result.stderr

    result = attempt(f"pkcs11:token=ira;object=rsa-key?module-path={SOFTHSM_MODULE}&pin-value={PIN}")
    assert result.returncode == 2
    assert "the PIN is written into the URI (pin-value)" in result.stderr and "pin-source=file:" in result.stderr
    assert PIN not in result.stderr

    result = attempt(token_uri(softhsm, "rsa"), certificate="pkcs11:token=ira;object=rsa-key;type=cert")
    assert result.returncode == 2 and "--certificate must be a file, not a PKCS#11 URI" in result.stderr and "p11tool --export" in result.stderr

    result = attempt(f"pkcs11:token=ira;objet=rsa-key?pin-source=file:{softhsm.pin_file}")
    assert result.returncode == 2 and "unknown attribute 'objet' in the path; did you mean 'object'?" in result.stderr


def test_a_pkcs11_module_another_user_controls_is_never_loaded(binary, world, clean_env, shared_dir, softhsm, tmp_path):
    """Row: as root, a PKCS#11 module (module-path, --pkcs11-lib) another user owns or may replace | never loaded (it would run their code as root): refused naming the module, owner and mode"""
    directory = tmp_path / "vendor"
    directory.mkdir(mode=0o755)
    module = directory / "pkcs11-spy.so"
    shutil.copy(PKCS11_SPY, module)
    nobody = pwd.getpwnam("nobody")
    os.chown(directory, nobody.pw_uid, nobody.pw_gid)
    log = tmp_path / "spy.log"
    env = {**clean_env, **softhsm.env(), **spy_env(log)}
    uri = token_uri(softhsm, "rsa", module=False)
    result = run(binary, [*credential_process_args(world, token_certificate(world, "rsa"), uri), "--pkcs11-lib", str(module)], env)
    assert result.returncode != 0, result.stderr
    assert f"PKCS#11 module {module} is below {directory}, which is owned by nobody" in result.stderr, result.stderr
    sync = token_sync(binary, world, clean_env, shared_dir, env)
    write_token_secret(sync, auth_block(world, token_certificate(world, "rsa"), token_uri(softhsm, "rsa", module_path=str(module))))
    result = run(binary, ["validate", "-c", str(sync.manifest)], sync.env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"PKCS#11 module {module} is below {directory}, which is owned by nobody" in result.stderr, result.stderr
    assert not log.exists(), "the module was loaded"


def test_manifest_refuses_a_pin_in_the_uri_at_its_line(binary, world, clean_env, shared_dir, softhsm):
    sync = token_sync(binary, world, clean_env, shared_dir, softhsm.env())
    write_token_secret(sync, auth_block(world, token_certificate(world, "rsa"), f"pkcs11:token=ira;object=rsa-key?pin-value={PIN}"))
    result = sync.once()
    assert result.returncode == 2
    line = next(number for number, text in enumerate(sync.manifest.read_text().splitlines(), 1) if "private_key" in text)
    assert f"{sync.manifest}:{line}:" in result.stderr
    assert "pin-value" in result.stderr and PIN not in result.stderr
    assert not sync.out.exists()


def test_validate_proves_a_token_key_by_signing(binary, world, clean_env, shared_dir, softhsm):
    sync = token_sync(binary, world, clean_env, shared_dir, softhsm.env())
    write_token_secret(sync, auth_block(world, token_certificate(world, "ec"), token_uri(softhsm, "ec")))
    result = run(binary, ["validate", "-c", str(sync.manifest)], sync.env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PKCS#11 key object=ec-key in token 'ira'" in result.stdout
    assert "signs, and its signature verifies with the certificate" in result.stdout


# MARK: TPM 2.0 (swtpm)


TPM_KEY_NAMES = ["generated-rsa", "generated-ec", "imported-rsa-tss2-auth", "imported-ec-tss2", "imported-ec-handle",
                 "imported-rsa-handle-auth"]


@pytest.mark.parametrize("name", TPM_KEY_NAMES)
def test_once_signs_with_a_tpm_key(binary, world, emulator, clean_env, shared_dir, tpm, name):
    key = tpm.keys[name]
    sync = token_sync(binary, world, clean_env, shared_dir, {"TPM2OPENSSL_TCTI": tpm.tcti})
    write_token_secret(sync, auth_block(world, key.certificate, key.private_key, tpm.auth_file if key.auth else None))
    result = sync.once()
    assert result.returncode == 0, result.stderr
    assert (sync.out / "token").read_text() == SECRET
    [record] = emulator.requests()
    assert record["status"] == 201
    assert record["algorithm"] == ("AWS4-X509-RSA-SHA256" if key.algorithm == "rsa" else "AWS4-X509-ECDSA-SHA256")
    assert TPM_AUTH not in result.stderr


@pytest.mark.parametrize("name", TPM_KEY_NAMES)
def test_credential_process_signs_with_a_tpm_key_for_the_aws_cli(binary, world, emulator, clean_env, tpm, name):
    key = tpm.keys[name]
    env = {**clean_env, "TPM2OPENSSL_TCTI": tpm.tcti}
    args = credential_process_args(world, key.certificate, key.private_key)
    if key.auth:
        args += ["--tpm-key-password-file", str(tpm.auth_file)]
    aws_cli_reads_secret(binary, env, args)
    [record] = emulator.requests()
    assert record["status"] == 201


def test_a_wrong_tpm_auth_value_costs_one_lockout_count(binary, world, emulator, clean_env, tpm, tmp_path):
    """Row: a wrong TPM key auth value | one attempt: the TPM's lockout counter rises by exactly 1; the value never printed"""
    key = tpm.keys["imported-rsa-tss2-auth"]
    wrong = tmp_path / "auth"
    wrong.write_text("not-the-auth\n")
    env = {**clean_env, "TPM2OPENSSL_TCTI": tpm.tcti}
    result = run(binary, [*credential_process_args(world, key.certificate, key.private_key), "--tpm-key-password-file", str(wrong)], env)
    assert result.returncode == 1
    assert f"the TPM refused the auth value for TPM key {key.private_key} from {wrong}" in result.stderr
    assert "not-the-auth" not in result.stderr
    assert tpm.lockout_counter() == 1
    assert emulator.requests() == []


def test_a_tpm_key_that_needs_an_auth_value_says_so(binary, world, clean_env, tpm):
    key = tpm.keys["imported-rsa-handle-auth"]
    env = {**clean_env, "TPM2OPENSSL_TCTI": tpm.tcti}
    result = run(binary, credential_process_args(world, key.certificate, key.private_key), env)
    assert result.returncode == 1
    assert "(none was given)" in result.stderr and "tpm_auth_file" in result.stderr
    assert tpm.lockout_counter() == 1


def test_the_daemon_spends_one_tpm_attempt_on_a_wrong_auth_value(binary, world, emulator, clean_env, shared_dir, tpm):
    """Row: the daemon with a wrong TPM auth value, pass after pass | one lockout count in all (swtpm locks out after 3); syncs once the auth file is fixed"""
    key = tpm.keys["imported-rsa-handle-auth"]
    auth = shared_dir / "auth"
    auth.write_text("not-the-auth\n")
    sync = token_sync(binary, world, clean_env, shared_dir, {"TPM2OPENSSL_TCTI": tpm.tcti})
    write_token_secret(sync, auth_block(world, key.certificate, key.private_key, auth), extra="interval: 1s\n")
    notify = Notifications(sync.root)
    daemon = start_daemon(sync, notify)
    try:
        assert all(status.startswith("pass incomplete") for status in notify.passes(5))
        # swtpm locks out after 3 failures; a daemon retrying would have locked it by now.
        assert tpm.lockout_counter() == 1
        auth.write_text(TPM_AUTH + "\n")
        wait_for(lambda: (sync.out / "token").exists(), 30, "the pass after the auth file was fixed")
    finally:
        stderr = stop(daemon)
    assert stderr.count("the TPM refused the auth value") >= 3, stderr
    assert "not-the-auth" not in stderr and TPM_AUTH not in stderr


def test_tpm_errors_say_what_is_wrong(binary, world, clean_env, tpm):
    env = {**clean_env, "TPM2OPENSSL_TCTI": tpm.tcti}
    generated = tpm.keys["generated-ec"]

    def attempt(key: str, certificate: str = generated.certificate, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return run(binary, credential_process_args(world, certificate, key), {**env, **(extra_env or {})})

    result = attempt("handle:0x81000099")
    assert result.returncode == 1 and "no key is persisted in the TPM at handle:0x81000099" in result.stderr

    result = attempt("handle:0x1234")
    assert result.returncode == 2 and "not a persistent TPM handle" in result.stderr

    # The TPM key with another key's certificate.
    result = attempt(generated.private_key, certificate=str(world.pki / "clients" / "direct" / "ec-p256-pkcs8.crt"))
    assert result.returncode == 1 and f"TPM key {generated.private_key} (EC P-256) does not match the certificate" in result.stderr

    closed = f"swtpm:host=127.0.0.1,port={tpm.port + 2}"
    result = attempt(generated.private_key, extra_env={"TPM2OPENSSL_TCTI": closed})
    assert result.returncode == 1 and f"no TPM answered at TPM2OPENSSL_TCTI={closed}" in result.stderr

    result = attempt(generated.private_key, extra_env={"OPENSSL_MODULES": "/nonexistent"})
    assert result.returncode == 1 and "OpenSSL's tpm2 provider is not installed" in result.stderr and "tpm2-openssl" in result.stderr

    # A TSS2 key file that says it has an auth value, and none given: caught before the TPM is touched.
    protected = tpm.keys["imported-rsa-tss2-auth"]
    result = attempt(protected.private_key, certificate=protected.certificate)
    assert result.returncode == 2 and "has an auth value (its emptyAuth is false) and none was given" in result.stderr
    assert tpm.lockout_counter() == 0

    # A file key with an auth file is a contradiction, not a silently ignored setting.
    result = run(binary, [*credential_process_args(world, str(world.pki / "clients" / "direct" / "ec-p256-pkcs8.crt"),
                                                   str(world.pki / "clients" / "ec-p256-pkcs8.key")),
                          "--tpm-key-password-file", str(tpm.auth_file)], env)
    assert result.returncode == 2 and "is a key file, not a TPM key" in result.stderr


def test_a_tpm_in_lockout_says_so(binary, world, clean_env, tpm, tmp_path):
    key = tpm.keys["imported-rsa-tss2-auth"]
    env = {**clean_env, "TPM2OPENSSL_TCTI": tpm.tcti}
    # Three different wrong values (each a new file, so each is tried once) lock swtpm out.
    for attempt in range(3):
        wrong = tmp_path / f"auth-{attempt}"
        wrong.write_text(f"wrong-{attempt}\n")
        run(binary, [*credential_process_args(world, key.certificate, key.private_key), "--tpm-key-password-file", str(wrong)], env)
    result = run(binary, [*credential_process_args(world, key.certificate, key.private_key), "--tpm-key-password-file", str(tpm.auth_file)], env)
    assert result.returncode == 1
    assert "the TPM is in dictionary-attack lockout" in result.stderr and "tpm2_dictionarylockout -c" in result.stderr


def test_a_tss2_key_from_another_tpm_is_named_as_such(binary, world, clean_env, tpm, tmp_path):
    other = SwTPM(tmp_path / "other-tpm")
    try:
        foreign = other.generate_tss2("ec", tmp_path / "foreign.tss2.pem")
    finally:
        other.stop()
    env = {**clean_env, "TPM2OPENSSL_TCTI": tpm.tcti}
    result = run(binary, credential_process_args(world, tpm.keys["generated-ec"].certificate, str(foreign)), env)
    assert result.returncode == 1
    assert f"TPM key {foreign} was not made by this TPM" in result.stderr


def test_a_tpm_full_of_objects_is_reported_busy(binary, world, clean_env, tpm):
    """Row: a TPM whose object slots another program left full | reported busy (TPM_RC_OBJECT_MEMORY) with the command that frees them; works once they are freed"""
    key = tpm.keys["generated-rsa"]
    env = {**clean_env, "TPM2OPENSSL_TCTI": tpm.tcti}
    # Another program left objects loaded in a TPM without a resource manager (swtpm has 3 slots).
    for index in range(3):
        tpm.tools("tpm2_createprimary", "-Q", "-C", "o", "-c", str(tpm.directory / f"leftover-{index}.ctx"))
    result = run(binary, credential_process_args(world, key.certificate, key.private_key), env)
    assert result.returncode == 1
    assert "the TPM is busy" in result.stderr and "tpm2_flushcontext -t" in result.stderr
    tpm.flush()
    result = run(binary, credential_process_args(world, key.certificate, key.private_key), env)
    assert result.returncode == 0, result.stderr


def test_validate_proves_a_tpm_key_by_signing(binary, world, clean_env, shared_dir, tpm):
    key = tpm.keys["imported-ec-handle"]
    sync = token_sync(binary, world, clean_env, shared_dir, {"TPM2OPENSSL_TCTI": tpm.tcti})
    write_token_secret(sync, auth_block(world, key.certificate, key.private_key))
    result = run(binary, ["validate", "-c", str(sync.manifest)], sync.env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "TPM key handle:0x81000010 (EC P-256) signs, and its signature verifies with the certificate" in result.stdout


def test_run_with_a_tpm_key_hands_the_app_no_tpm_connection_or_log(binary, world, clean_env, shared_dir, tpm):
    key = tpm.keys["imported-rsa-tss2-auth"]
    sync = token_sync(binary, world, clean_env, shared_dir, {"TPM2OPENSSL_TCTI": tpm.tcti})
    sync.write("""\
        - id: demo/api-token
          env:
            - name: API_TOKEN
        """, auth=auth_block(world, key.certificate, key.private_key, tpm.auth_file))
    # The app lists its open descriptors: only stdin, stdout, stderr (and the listing's own).
    listing = ("import os\nfds = []\nfor fd in os.listdir('/proc/self/fd'):\n"
               "    try: fds.append(os.readlink(f'/proc/self/fd/{fd}'))\n"
               "    except OSError: pass\nprint(sorted(fds))")
    result = run(binary, ["run", "-c", str(sync.manifest), "--", "python3", "-c", listing + "\nprint(os.environ['API_TOKEN'])"], sync.env)
    assert result.returncode == 0, result.stderr
    descriptors, token = result.stdout.splitlines()
    assert token == SECRET
    assert "tss2" not in descriptors and "socket" not in descriptors, descriptors
