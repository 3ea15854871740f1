"""An HTTPS reverse proxy in front of moto that injects faults on request, for reliability tests.

The test sets the next faults with `POST /_fault` and a JSON list, e.g.
`["status:503", "status:503"]`, consumed one per request; with the list empty, requests pass
through unchanged (headers byte for byte, so SigV4 signatures still verify). Faults:

  status:CODE      answer CODE with a JSON error body (503, 500, 400 ThrottlingException via throttle)
  throttle         400 {"__type": "ThrottlingException"}
  reset            close the connection without answering
  truncate         forward, then cut the body in half (Content-Length promises more)
  garbage          200 with a body that is not JSON
  html             200 text/html, as a captive portal or a misconfigured proxy answers
  slow:SECONDS     wait, then forward
  huge             200 with a 20 MiB body (a response-size cap must refuse it)
  twin             forward, then add to a BatchGetSecretValue answer, after each secret, a secret of
                   the same name from another account (222222222222) whose value is "twin:" + the
                   original: an answer matched by name alone would be swapped; to a GetParameters
                   answer, before each parameter, a same-named one of that account (the first that
                   fits would be taken)
  twinregion       the same for GetParameters with another region (eu-central-1) instead of account
  flood:N:BYTES    answer GetParametersByPath, without asking moto, with N parameters under the
                   requested path, each of BYTES bytes, and a fresh NextToken: as a stand-in endpoint
                   that never stops (a page holds at most 10 by the API; N=11 breaks that, BYTES=9000
                   breaks the 8 KB value limit)
  surrogate        forward, then give every secret whose name holds "bad", in a BatchGetSecretValue or
                   GetSecretValue answer, a SecretString with a lone UTF-16 surrogate (JSON "\ud800",
                   which no UTF-8 text can hold)
  forge            400 AccessDeniedException whose message carries a newline and a fake log line
  bigerror         400 AccessDeniedException with a 100 KB message

`down(region, fault)` makes a region fail until cleared: every request signed for that region
(the SigV4 credential scope in `Authorization`) gets `fault` (`status:503` or `reset`), however
many arrive, while other regions pass through.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


FLOODED = iter(range(1 << 62))


def flood(request: dict, count: int, size: int) -> bytes:
    """One made-up GetParametersByPath page of `count` parameters of `size` bytes, and a token."""
    path = request.get("Path", "/").rstrip("/")
    parameters = []
    for _ in range(count):
        n = next(FLOODED)
        parameters.append({"Name": f"{path}/flood{n}", "Type": "String", "Value": "x" * size, "Version": 1,
                           "ARN": f"arn:aws:ssm:us-west-2:123456789012:parameter{path}/flood{n}", "DataType": "text"})
    return json.dumps({"Parameters": parameters, "NextToken": f"flood-{next(FLOODED)}"}).encode()


def surrogate(data: bytes) -> bytes:
    answer = json.loads(data)
    for value in answer.get("SecretValues", [answer]):
        if "bad" in value.get("Name", ""):
            value["SecretString"] = "before \ud800 after"
    return json.dumps(answer).encode()  # ensure_ascii: the surrogate goes out as \ud800


def twin(data: bytes, field: int = 4, value: str = "222222222222") -> bytes:
    """Each SecretValues entry followed by a same-named one of another account with another value;
    each GetParameters entry preceded by one (ARN field `field` replaced by `value`)."""
    document = json.loads(data)
    if "Parameters" in document:
        doubled = []
        for entry in document["Parameters"]:
            copy = dict(entry)
            parts = copy["ARN"].split(":")
            parts[field] = value
            copy["ARN"] = ":".join(parts)
            copy["Value"] = "twin:" + entry.get("Value", "")
            doubled += [copy, entry]
        document["Parameters"] = doubled
        return json.dumps(document).encode()
    if "SecretValues" not in document:
        return data
    doubled = []
    for entry in document["SecretValues"]:
        copy = dict(entry)
        parts = copy["ARN"].split(":")
        parts[4] = "222222222222"
        copy["ARN"] = ":".join(parts)
        copy["SecretString"] = "twin:" + entry.get("SecretString", "")
        doubled += [entry, copy]
    document["SecretValues"] = doubled
    return json.dumps(document).encode()


class FaultProxy:
    def __init__(self, upstream_port: int, certificate: str, key: str, ca_bundle: str):
        self.upstream_port = upstream_port
        self.upstream_context = ssl.create_default_context(cafile=ca_bundle)
        self.faults: list[str] = []
        self.down_regions: dict[str, str] = {}
        self.requests: list[str] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.path == "/_fault":
                    with proxy.lock:
                        proxy.faults = json.loads(body)
                    return self.answer(200, b"{}")
                scope = self.headers.get("Authorization", "").split("Credential=", 1)[-1].split("/")
                region = scope[2] if len(scope) > 2 else ""
                with proxy.lock:
                    if region in proxy.down_regions:
                        fault = proxy.down_regions[region]
                    else:
                        fault = proxy.faults.pop(0) if proxy.faults else "pass"
                    proxy.requests.append(fault)
                kind, _, argument = fault.partition(":")
                if kind == "status":
                    return self.answer(int(argument), json.dumps({"__type": "ServiceUnavailable", "message": "injected"}).encode())
                if kind == "throttle":
                    return self.answer(400, json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode())
                if kind == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.close_connection = True
                    self.connection.close()
                    return
                if kind == "garbage":
                    return self.answer(200, b'{"ARN": "arn:aws:secretsmanager:us-west-2:1:secret:x", "VersionId": ')
                if kind == "html":
                    return self.answer(200, b"<html><body>Please log in to the network</body></html>", "text/html")
                if kind == "huge":
                    return self.answer(200, b"{" + b" " * (20 << 20) + b"}")
                if kind == "flood":
                    count, _, size = argument.partition(":")
                    return self.answer(200, flood(json.loads(body), int(count), int(size)))
                if kind == "forge":
                    message = "denied\nnotice: forged line from the network\r\nerror: another"
                    return self.answer(400, json.dumps({"__type": "AccessDeniedException", "message": message}).encode())
                if kind == "bigerror":
                    return self.answer(400, json.dumps({"__type": "AccessDeniedException", "message": "x" * 100_000}).encode())
                if kind == "slow":
                    time.sleep(float(argument))
                status, headers, data = self.forward(body)
                if kind == "truncate":
                    self.send_response(status)
                    self.send_header("Content-Type", "application/x-amz-json-1.1")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if kind == "surrogate" and status == 200:
                    data = surrogate(data)
                if kind == "twin" and status == 200:
                    data = twin(data)
                if kind == "twinregion" and status == 200:
                    data = twin(data, field=3, value="eu-central-1")
                self.answer(status, data, headers.get("Content-Type", "application/x-amz-json-1.1"))

            def forward(self, body: bytes):
                connection = http.client.HTTPSConnection("127.0.0.1", proxy.upstream_port, context=proxy.upstream_context, timeout=30)
                connection.putrequest("POST", self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    connection.putheader(name, value)
                connection.endheaders(body)
                response = connection.getresponse()
                data = response.read()
                headers = dict(response.getheaders())
                connection.close()
                return response.status, headers, data

            def answer(self, status: int, data: bytes, content_type: str = "application/x-amz-json-1.1"):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def inject(self, faults: list[str]) -> None:
        with self.lock:
            self.faults = list(faults)
            self.requests = []

    def down(self, region: str, fault: str = "status:503") -> None:
        with self.lock:
            self.down_regions[region] = fault

    def up(self, region: str) -> None:
        with self.lock:
            self.down_regions.pop(region, None)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
