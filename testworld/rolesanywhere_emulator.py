"""A local stand-in for IAM Roles Anywhere `CreateSession`, written independently of secret-sync.

It checks a request the way the service does, from the wire up, with Python's `cryptography`:

* the `Authorization` header's form, algorithm, credential scope (date, region, service) and the
  certificate serial number (decimal) against the `X-Amz-X509` certificate;
* the `X-Amz-Date` window (5 minutes each way of the emulator's clock, which tests may skew);
* the SigV4 canonical request rebuilt from what arrived (method, path, query, the signed headers,
  the SHA-256 of the body) and its signature with the leaf certificate's public key
  (RSA PKCS#1 v1.5 or ECDSA, SHA-256);
* the chain: leaf, then `X-Amz-X509-Chain`, up to the trust anchor's CA certificate, each
  signature, validity window and CA basic constraint;
* the trust anchor, profile and role ARNs, and the session duration;

then mints real temporary credentials through moto's STS `AssumeRole`, so that moto accepts them.
Errors come back in the service's restJson shape: `X-Amzn-ErrorType` and `{"message": ...}`.

Admin endpoints for tests (loopback only): `GET /_emulator/requests`, `POST /_emulator/clock`
(`{"offset_seconds": N}`), `POST /_emulator/reset`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import email.utils
import hashlib
import json
import re
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

import boto3
from botocore.config import Config
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

DATE_WINDOW = dt.timedelta(minutes=5)
AUTH_PATTERN = re.compile(
    r"^(?P<algorithm>AWS4-X509-(?P<kind>RSA|ECDSA)-SHA256) "
    r"Credential=(?P<serial>[0-9]+)/(?P<date>[0-9]{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]+)$"
)


class ServiceError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def denied(message: str) -> ServiceError:
    return ServiceError(403, "AccessDeniedException", message)


def encode(text: str) -> str:
    return quote(text, safe="-_.~")


def canonical_request(method: str, path: str, query: str, headers: dict[str, str], signed: list[str], body: bytes) -> str:
    pairs = sorted((encode(k), encode(v)) for k, v in parse_qsl(query, keep_blank_values=True))
    canonical_query = "&".join(f"{k}={v}" for k, v in pairs)
    lines = "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in signed)
    return "\n".join([method, quote(path, safe="/-_.~"), canonical_query, lines, ";".join(signed), hashlib.sha256(body).hexdigest()])


def verify_chain(leaf: x509.Certificate, intermediates: list[x509.Certificate], anchor: x509.Certificate, now: dt.datetime) -> None:
    """Walks leaf -> intermediates -> anchor, checking each link; raises ServiceError."""
    def valid_at(cert: x509.Certificate, what: str) -> None:
        if not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
            raise denied(f"Certificate is not valid at this time ({what} {cert.subject.rfc4514_string()})")

    def is_ca(cert: x509.Certificate) -> bool:
        try:
            return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            return False

    valid_at(leaf, "leaf")
    pool = list(intermediates)
    current = leaf
    for _ in range(6):  # AWS accepts short chains; more than 5 intermediates is refused below.
        if current.issuer == anchor.subject:
            try:
                current.verify_directly_issued_by(anchor)
            except (ValueError, TypeError, InvalidSignature):
                raise denied("Untrusted signing certificate")
            valid_at(anchor, "trust anchor")
            return
        issuer = next((c for c in pool if c.subject == current.issuer), None)
        if issuer is None:
            raise denied("Untrusted signing certificate")
        try:
            current.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            raise denied("Untrusted signing certificate")
        if not is_ca(issuer):
            raise denied("Untrusted signing certificate (an issuer in the chain is not a CA)")
        valid_at(issuer, "intermediate")
        pool.remove(issuer)
        current = issuer
    raise denied("Untrusted signing certificate (chain too long)")


class Emulator:
    def __init__(self, config: dict):
        self.config = config
        self.region = config["region"]
        # Every region this emulator plays (Roles Anywhere is regional: a trust anchor answers only
        # in its own region), and the regions made "down" by the tests (503 to everything).
        self.regions = set(config.get("regions", [self.region]))
        self.down: set[str] = set()
        # When set (tests of renewal): the Expiration reported is this many seconds from now.
        self.session_seconds: float | None = None
        self.trust_anchors = {}
        for anchor in config["trust_anchors"]:
            with open(anchor["ca_certificate"], "rb") as f:
                self.trust_anchors[anchor["arn"]] = (x509.load_pem_x509_certificate(f.read()), anchor.get("enabled", True))
        self.profiles = {p["arn"]: p for p in config["profiles"]}
        self.sts = boto3.client(
            "sts",
            endpoint_url=config["sts_endpoint"],
            region_name=self.region,
            aws_access_key_id=config["sts_access_key_id"],
            aws_secret_access_key=config["sts_secret_access_key"],
            verify=config.get("sts_ca_bundle") or True,
            config=Config(retries={"max_attempts": 1}),
        )
        self.lock = threading.Lock()
        self.clock_offset = 0.0
        self.requests: list[dict] = []

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=self.clock_offset)

    def create_session(self, method: str, target: str, headers: dict[str, str], body: bytes, record: dict) -> dict:
        now = self.now()
        split = urlsplit(target)
        if method != "POST" or split.path != "/sessions":
            raise ServiceError(404, "UnknownOperationException", f"no operation at {method} {split.path}")

        authorization = headers.get("authorization", "")
        match = AUTH_PATTERN.match(authorization)
        if not match:
            raise denied("Missing or malformed Authorization header")
        record.update(algorithm=match["algorithm"], signed_headers=match["signed"], serial=match["serial"])

        amz_date = headers.get("x-amz-date", "")
        try:
            request_time = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
        except ValueError:
            raise denied("Missing or malformed X-Amz-Date header")
        if abs(request_time - now) > DATE_WINDOW:
            raise denied(f"Signature expired: {amz_date} is outside the allowed window around {now:%Y%m%dT%H%M%SZ}")

        signed = match["signed"].split(";")
        required = {"host", "x-amz-date", "x-amz-x509", "content-type"}
        if "x-amz-x509-chain" in headers:
            required.add("x-amz-x509-chain")
        if not required.issubset(signed) or signed != sorted(signed) or any(h not in headers for h in signed):
            raise denied(f"Invalid signature (signed headers {match['signed']} must include {';'.join(sorted(required))})")
        if match["date"] != amz_date[:8] or match["region"] not in self.regions or match["service"] != "rolesanywhere":
            raise denied(f"Invalid credential scope {match['date']}/{match['region']}/{match['service']}")

        try:
            leaf = x509.load_der_x509_certificate(base64.b64decode(headers["x-amz-x509"], validate=True))
            chain_text = headers.get("x-amz-x509-chain", "")
            intermediates = [x509.load_der_x509_certificate(base64.b64decode(p, validate=True)) for p in chain_text.split(",") if p]
        except (ValueError, binascii.Error):
            raise ServiceError(400, "ValidationException", "X-Amz-X509 or X-Amz-X509-Chain is not base64 DER X.509")
        if len(intermediates) > 5:
            raise ServiceError(400, "ValidationException", "X-Amz-X509-Chain holds more than 5 certificates")
        record["chain_length"] = len(intermediates)
        if match["serial"] != str(leaf.serial_number):
            raise denied("Invalid signature (credential serial does not match the certificate)")

        canonical = canonical_request(method, split.path, split.query, headers, signed, body)
        string_to_sign = "\n".join([
            match["algorithm"], amz_date, f"{match['date']}/{match['region']}/rolesanywhere/aws4_request",
            hashlib.sha256(canonical.encode()).hexdigest(),
        ])
        public_key = leaf.public_key()
        signature = bytes.fromhex(match["signature"])
        try:
            if match["kind"] == "RSA" and isinstance(public_key, rsa.RSAPublicKey):
                public_key.verify(signature, string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
            elif match["kind"] == "ECDSA" and isinstance(public_key, ec.EllipticCurvePublicKey):
                public_key.verify(signature, string_to_sign.encode(), ec.ECDSA(hashes.SHA256()))
            else:
                raise denied("Invalid signature (algorithm does not match the certificate's key)")
        except InvalidSignature:
            raise denied("Invalid signature")

        try:
            document = json.loads(body or b"{}")
        except ValueError:
            raise ServiceError(400, "ValidationException", "body is not JSON")
        arns = dict(parse_qsl(split.query))
        for name in ("trustAnchorArn", "profileArn", "roleArn"):
            arns.setdefault(name, document.get(name))
        record["arns_in_query"] = sorted(k for k in dict(parse_qsl(split.query)))
        anchor = self.trust_anchors.get(arns["trustAnchorArn"])
        if anchor is None or str(arns["trustAnchorArn"]).split(":")[3] != match["region"]:
            raise ServiceError(404, "ResourceNotFoundException", f"Trust anchor {arns['trustAnchorArn']} not found")
        if not anchor[1]:
            raise denied("Trust anchor is disabled")
        verify_chain(leaf, intermediates, anchor[0], now)
        profile = self.profiles.get(arns["profileArn"])
        if profile is None:
            raise ServiceError(404, "ResourceNotFoundException", f"Profile {arns['profileArn']} not found")
        if arns["roleArn"] not in profile["role_arns"]:
            raise denied(f"Role {arns['roleArn']} is not associated with profile {arns['profileArn']}")
        duration = document.get("durationSeconds", 3600)
        if not isinstance(duration, int) or not 900 <= duration <= 43200:
            raise ServiceError(400, "ValidationException", "durationSeconds must be between 900 and 43200")
        record["duration_seconds"] = duration
        duration = min(duration, profile.get("duration_seconds", 3600))
        if "roleSessionName" in document and not profile.get("accept_role_session_name", False):
            raise ServiceError(400, "ValidationException", "Profile does not accept a role session name")

        session_name = document.get("roleSessionName") or format(leaf.serial_number, "x")[:64]
        answer = self.sts.assume_role(RoleArn=arns["roleArn"], RoleSessionName=session_name, DurationSeconds=duration)
        credentials = answer["Credentials"]
        expires = credentials["Expiration"].astimezone(dt.timezone.utc)
        if self.session_seconds is not None:
            expires = now + dt.timedelta(seconds=self.session_seconds)
        expiration = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
        subject_cn = leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return {
            "credentialSet": [{
                "assumedRoleUser": {
                    "arn": answer["AssumedRoleUser"]["Arn"], "assumedRoleId": answer["AssumedRoleUser"]["AssumedRoleId"]},
                "credentials": {
                    "accessKeyId": credentials["AccessKeyId"],
                    "secretAccessKey": credentials["SecretAccessKey"],
                    "sessionToken": credentials["SessionToken"],
                    "expiration": expiration,
                },
                "packedPolicySize": 0,
                "roleArn": arns["roleArn"],
                "sourceIdentity": subject_cn[0].value if subject_cn else "",
            }],
            "subjectArn": f"arn:aws:rolesanywhere:{match['region']}:{self.config['account']}:subject/{format(leaf.serial_number, 'x')}",
        }


def make_handler(emulator: Emulator):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "rolesanywhere-emulator"

        def log_message(self, format, *args):  # quiet: tests read /_emulator/requests instead
            pass

        def date_time_string(self, timestamp=None):
            return email.utils.formatdate(time.time() + emulator.clock_offset, usegmt=True)

        def reply(self, status: int, document: dict, error_type: str | None = None):
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", f"emulator-{time.monotonic_ns()}")
            if error_type:
                self.send_header("X-Amzn-ErrorType", error_type)
            self.end_headers()
            self.wfile.write(data)

        def body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_GET(self):
            if self.path == "/_emulator/requests":
                with emulator.lock:
                    return self.reply(200, {"requests": emulator.requests})
            self.reply(404, {"message": "not found"}, "UnknownOperationException")

        def do_POST(self):
            body = self.body()
            if self.path == "/_emulator/clock":
                emulator.clock_offset = float(json.loads(body)["offset_seconds"])
                return self.reply(200, {"offset_seconds": emulator.clock_offset})
            if self.path == "/_emulator/reset":
                with emulator.lock:
                    emulator.requests.clear()
                    emulator.down.clear()
                    emulator.session_seconds = None
                emulator.clock_offset = 0.0
                return self.reply(200, {})
            if self.path == "/_emulator/session_seconds":
                with emulator.lock:
                    emulator.session_seconds = json.loads(body)["seconds"]
                return self.reply(200, {"session_seconds": emulator.session_seconds})
            if self.path == "/_emulator/down":
                with emulator.lock:
                    emulator.down = set(json.loads(body)["regions"])
                return self.reply(200, {"down": sorted(emulator.down)})
            headers = {k.lower(): v for k, v in self.headers.items()}
            record = {"time": time.time(), "path": urlsplit(self.path).path, "content_type": headers.get("content-type")}
            scope = AUTH_PATTERN.match(headers.get("authorization", ""))
            record["region"] = scope["region"] if scope else None
            with emulator.lock:
                region_down = scope is not None and scope["region"] in emulator.down
            if region_down:
                record.update(status=503, error="ServiceUnavailable")
                with emulator.lock:
                    emulator.requests.append(record)
                return self.reply(503, {"message": f"{scope['region']} is down (test)"}, "ServiceUnavailable")
            try:
                document = emulator.create_session("POST", self.path, headers, body, record)
                record["status"] = 201
                self.reply(201, document)
            except ServiceError as error:
                record.update(status=error.status, error=error.code, message=error.message)
                self.reply(error.status, {"message": error.message}, error.code)
            except Exception as error:  # an emulator bug must be loud, not a hang
                record.update(status=500, error="InternalServerException", message=repr(error))
                self.reply(500, {"message": f"emulator failure: {error!r}"}, "InternalServerException")
            finally:
                with emulator.lock:
                    emulator.requests.append(record)

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="JSON configuration written by testworld.world")
    args = parser.parse_args(argv)
    with open(args.config) as f:
        config = json.load(f)
    emulator = Emulator(config)
    server = ThreadingHTTPServer((config["host"], config["port"]), make_handler(emulator))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(config["tls_certificate"], config["tls_private_key"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"rolesanywhere-emulator listening on https://{config['host']}:{config['port']}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
