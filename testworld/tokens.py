"""Software key stores for the hardware-key tests: a SoftHSM2 token and a swtpm TPM.

Both come from Debian's packages (softhsm2; swtpm, tpm2-tools, tpm2-openssl, libtss2-tcti-swtpm0)
and are provisioned with the same commands README.md gives for moving a key into real hardware.
A component that is missing or does not start raises: the tests that need it fail, never skip.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from testworld.world import free_port

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
# OpenSC's pkcs11-spy: a module that logs every call and forwards it to PKCS11SPY.
PKCS11_SPY = "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so"


def require(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None and not Path(tool).exists()]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not installed: run scripts/install-deps.sh (it installs the hardware-key test tools)")


def run(command: list[str], env: dict[str, str] | None = None, input: bytes | None = None) -> str:
    result = subprocess.run(command, env=env, capture_output=True, input=input, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.decode(errors='replace')}")
    return result.stdout.decode(errors="replace")


def build_flagging_module(out: Path) -> Path:
    """testworld/flagging_module.c: a module that adds token flags to a real module's answers."""
    require("cc")
    source = Path(__file__).with_name("flagging_module.c")
    run(["cc", "-shared", "-fPIC", "-Wall", "-Werror", "-o", str(out), str(source), "-ldl"])
    return out


class SoftHSM:
    """A SoftHSM2 token directory of its own, reached through SOFTHSM2_CONF."""

    def __init__(self, directory: Path):
        require("softhsm2-util", "p11tool", "certtool", "pkcs11-tool", SOFTHSM_MODULE)
        self.directory = directory
        (directory / "tokens").mkdir(parents=True, exist_ok=True)
        self.conf = directory / "softhsm2.conf"
        self.conf.write_text(f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
        # Other users must reach the token files for the tests that run as nobody.
        for path in (directory, directory / "tokens"):
            path.chmod(0o755)

    def env(self) -> dict[str, str]:
        return {"SOFTHSM2_CONF": str(self.conf)}

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.env()}

    def init_token(self, label: str, pin: str, so_pin: str = "87654321") -> None:
        run(["softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", so_pin, "--pin", pin], env=self.environment())

    def p11tool(self, *args: str, pin: str) -> str:
        # GnuTLS's p11tool works with any PKCS#11 module; GNUTLS_PIN answers its PIN prompt.
        return run(["p11tool", "--provider", SOFTHSM_MODULE, "--login", *args], env={**self.environment(), "GNUTLS_PIN": pin})

    def import_key(self, key: Path, token: str, label: str, key_id: str, pin: str) -> None:
        """Moves an existing key file into the token (README: "Moving a key file into a token")."""
        self.p11tool("--write", "--load-privkey", str(key), "--label", label, "--id", key_id, f"pkcs11:token={token}", pin=pin)

    def generate_key(self, token: str, label: str, key_id: str, pin: str, csr: Path, common_name: str,
                     always_authenticate: bool = False) -> Path:
        """A key made inside the token, and a CSR signed by it (README: "A key in a PKCS#11 token").

        `always_authenticate` sets CKA_ALWAYS_AUTHENTICATE (a PIN for every signature), which only
        OpenSC's pkcs11-tool can set."""
        if always_authenticate:
            run(["pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", token, "--login", "--pin", pin, "--keypairgen",
                 "--key-type", "EC:prime256v1", "--label", label, "--id", key_id, "--always-auth"], env=self.environment())
        else:
            self.p11tool("--generate-privkey=ecdsa", "--curve=secp256r1", "--label", label, "--id", key_id, f"pkcs11:token={token}",
                         pin=pin)
        template = csr.with_suffix(".cfg")
        template.write_text(f'cn = "{common_name}"\norganization = "secret-sync test"\n')
        run(["certtool", "--provider", SOFTHSM_MODULE, "--generate-request", "--load-privkey",
             f"pkcs11:token={token};object={label};type=private", "--template", str(template), "--outfile", str(csr)],
            env={**self.environment(), "GNUTLS_PIN": pin})
        return csr


def free_port_pair() -> int:
    """A port P with P+1 also free."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no two adjacent free ports on 127.0.0.1")


class SwTPM:
    """A swtpm TPM 2.0 on a TCP port, with its TCTI for tpm2-openssl and tpm2-tools."""

    def __init__(self, directory: Path):
        require("swtpm", "tpm2_createprimary", "/usr/lib/x86_64-linux-gnu/ossl-modules/tpm2.so")
        self.directory = directory
        self.state = directory / "state"
        self.state.mkdir(parents=True, exist_ok=True)
        # The swtpm TCTI finds the control channel at the next port up.
        self.port = free_port_pair()
        self.control_port = self.port + 1
        self.tcti = f"swtpm:host=127.0.0.1,port={self.port}"
        self.log = directory / "swtpm.log"
        self.process = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={self.state}",
             "--server", f"type=tcp,port={self.port},bindaddr=127.0.0.1",
             "--ctrl", f"type=tcp,port={self.control_port},bindaddr=127.0.0.1",
             "--flags", "not-need-init,startup-clear", "--log", f"file={self.log}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"swtpm exited at start: {self.process.stderr.read().decode(errors='replace')}")
            try:
                self.tools("tpm2_getcap", "properties-fixed")
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.parent = directory / "parent.ctx"

    def env(self) -> dict[str, str]:
        # TSS2_LOG silences the TSS library's own stderr lines in the tools' output.
        return {"TPM2OPENSSL_TCTI": self.tcti, "TPM2TOOLS_TCTI": self.tcti, "TSS2_LOG": "all+NONE"}

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.env()}

    def tools(self, *command: str, input: bytes | None = None) -> str:
        return run(list(command), env=self.environment(), input=input)

    def flush(self) -> None:
        """swtpm has no resource manager: each tool leaves its objects and sessions loaded."""
        for kind in ("-t", "-l", "-s"):
            self.tools("tpm2_flushcontext", kind)

    def create_parent(self) -> Path:
        """The owner-hierarchy primary key with tpm2-openssl's template (the TSS2 PEM parent 0x40000001)."""
        self.flush()
        self.tools("tpm2_createprimary", "-Q", "-C", "o", "-g", "sha256", "-G", "ecc256:aes128cfb", "-a",
                   "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt", "-c", str(self.parent))
        self.flush()
        return self.parent

    def import_to_tss2(self, key: Path, algorithm: str, out: Path, auth: str | None = None) -> Path:
        """Moves an existing key file into the TPM as a TSS2 PEM key (README's recipe)."""
        self.create_parent()
        public, private = out.with_suffix(".pub"), out.with_suffix(".priv")
        self.tools("tpm2_import", "-Q", "-C", str(self.parent), "-G", algorithm, "-i", str(key), "-u", str(public), "-r", str(private),
                   *(["-p", auth] if auth else []))
        self.flush()
        # tpm2-tools 5.4 inverts -p here: it marks the key as having an empty auth value.
        self.tools("tpm2_encodeobject", "-C", str(self.parent), "-u", str(public), "-r", str(private), "-o", str(out),
                   *([] if auth else ["-p"]))
        self.flush()
        return out

    def import_to_handle(self, key: Path, algorithm: str, handle: str, auth: str | None = None) -> str:
        """Moves an existing key file into the TPM at a persistent handle (README's recipe)."""
        self.create_parent()
        public, private, context = (self.directory / f"{handle}{suffix}" for suffix in (".pub", ".priv", ".ctx"))
        self.tools("tpm2_import", "-Q", "-C", str(self.parent), "-G", algorithm, "-i", str(key), "-u", str(public), "-r", str(private),
                   *(["-p", auth] if auth else []))
        self.flush()
        self.tools("tpm2_load", "-Q", "-C", str(self.parent), "-u", str(public), "-r", str(private), "-c", str(context))
        self.tools("tpm2_evictcontrol", "-Q", "-C", "o", "-c", str(context), handle)
        self.flush()
        return f"handle:{handle}"

    def generate_tss2(self, algorithm: str, out: Path, auth: str | None = None) -> Path:
        """A key made inside the TPM, never outside it: `openssl genpkey -provider tpm2`."""
        options = ["-algorithm", "RSA", "-pkeyopt", "bits:2048"] if algorithm == "rsa" else ["-algorithm", "EC", "-pkeyopt", "group:P-256"]
        if auth:
            options += ["-pkeyopt", f"user-auth:{auth}"]
        self.tools("openssl", "genpkey", "-provider", "tpm2", "-provider", "default", *options, "-out", str(out))
        self.flush()
        return out

    def certificate_request(self, key: str, common_name: str, out: Path) -> Path:
        """A CSR signed by the TPM key (README: "A new key in the TPM")."""
        self.tools("openssl", "req", "-new", "-provider", "tpm2", "-provider", "default", "-key", key,
                   "-subj", f"/O=secret-sync test/CN={common_name}", "-out", str(out))
        self.flush()
        return out

    def public_key(self, key: str, auth: str | None = None) -> bytes:
        """The public half of a TSS2 PEM key or handle:… key, as PEM."""
        pem = self.tools("openssl", "pkey", "-provider", "tpm2", "-provider", "default", "-in", key, "-pubout",
                         *(["-passin", f"pass:{auth}"] if auth else []))
        self.flush()
        return pem.encode()

    def lockout_counter(self) -> int:
        text = self.tools("tpm2_getcap", "properties-variable")
        line = next(line for line in text.splitlines() if "TPM2_PT_LOCKOUT_COUNTER" in line)
        return int(line.split(":")[1].strip(), 16)

    def clear_lockout(self) -> None:
        self.tools("tpm2_dictionarylockout", "-Q", "-c")
        self.flush()

    def loaded_objects(self) -> str:
        return self.tools("tpm2_getcap", "handles-transient") + self.tools("tpm2_getcap", "handles-loaded-session")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def issue_certificate(pki: Path, request: Path, out: Path) -> Path:
    """A client certificate from the world's root CA for a CSR whose key only a device holds."""
    csr = x509.load_pem_x509_csr(request.read_bytes())
    if not csr.is_signature_valid:
        raise RuntimeError(f"{request}: the CSR's signature does not verify: the device did not sign it with its key")
    ca_key = serialization.load_pem_private_key((pki / "ca" / "root-ca.key").read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate((pki / "ca" / "root-ca.crt").read_bytes())
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca_cert.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False),
                       critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    out.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return out


def main(argv: list[str] | None = None) -> int:
    """`python3 -m testworld.tokens tpm-up|tpm-down --dir DIR`: a swtpm for the demo, left running."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python3 -m testworld.tokens")
    parser.add_argument("command", choices=["tpm-up", "tpm-down"])
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--import-key", type=Path, help="a key file to move into the TPM as a TSS2 PEM key (tpm-up)")
    parser.add_argument("--algorithm", default="ecc", choices=["ecc", "rsa"])
    parser.add_argument("--out", type=Path, help="where to write the TSS2 PEM key (tpm-up)")
    args = parser.parse_args(argv)
    description = args.dir / "swtpm.json"
    if args.command == "tpm-down":
        if description.exists():
            os.kill(json.loads(description.read_text())["pid"], signal.SIGTERM)
            description.unlink()
        return 0
    args.dir.mkdir(parents=True, exist_ok=True)
    tpm = SwTPM(args.dir)
    description.write_text(json.dumps({"pid": tpm.process.pid, "tcti": tpm.tcti}))
    if args.import_key and args.out:
        tpm.import_to_tss2(args.import_key, args.algorithm, args.out)
    print(f"export TPM2OPENSSL_TCTI={tpm.tcti}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
