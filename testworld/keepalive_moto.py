"""moto's WSGI app served over HTTPS with HTTP/1.1 keep-alive, for performance measurements.

moto_server (werkzeug) answers `Connection: close` on every response (shared/TESTING-NOTES.md,
trap 8), so connection reuse cannot be measured through it. This server keeps connections open.

    python3 -m testworld.keepalive_moto --port P --cert CERT --key KEY
"""

from __future__ import annotations

import argparse
import io
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from testworld.moto_world import patch_ssm_authorisation


def make_handler(app):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):
            pass

        def handle_one(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            environ = {
                "REQUEST_METHOD": self.command, "SCRIPT_NAME": "", "PATH_INFO": split.path, "QUERY_STRING": split.query,
                "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(self.server.server_address[1]), "SERVER_PROTOCOL": "HTTP/1.1",
                "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "REMOTE_ADDR": self.client_address[0], "wsgi.version": (1, 0), "wsgi.url_scheme": "https",
                "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.multithread": True,
                "wsgi.multiprocess": False, "wsgi.run_once": False,
            }
            for name, value in self.headers.items():
                key = "HTTP_" + name.upper().replace("-", "_")
                if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                    environ[key] = value
            captured = {}

            def start_response(status, headers, exc_info=None):
                captured["status"], captured["headers"] = status, headers

            try:
                chunks = app(environ, start_response)
                try:
                    data = b"".join(chunks)
                finally:
                    if hasattr(chunks, "close"):
                        chunks.close()
            except Exception as error:  # moto crashes on some unauthenticated requests; AWS answers them
                captured["status"], captured["headers"] = "500 Internal Server Error", [("Content-Type", "text/plain")]
                data = f"moto failed: {error!r}".encode()
            code, _, reason = captured["status"].partition(" ")
            self.send_response(int(code), reason)
            for name, value in captured["headers"]:
                if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_one

    return Handler


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args(argv)
    patch_ssm_authorisation()
    server = ThreadingHTTPServer((args.host, args.port), make_handler(DomainDispatcherApplication(create_backend_app)))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
