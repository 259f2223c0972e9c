#!/usr/bin/env python3
"""A deliberately broken devices endpoint, for testing how the harness reports crashes,
hangs and causes. Not the suite's server, not Rust: it shares nothing with the harness.

- It dies (an uncaught exception, exit 70) when a member name anywhere in a create body
  holds a character outside Latin-1.
- It never answers a create body that is not JSON.
- It answers every create with the same canned device, whatever was sent.
- Any bearer token is taken; the rest is 404 or 405.

Usage: python3 fragile.py --port PORT
"""

import json
import os
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CANNED = {
    "@odata.type": "#microsoft.graph.device",
    "id": "00000000-0000-4000-8000-000000000001",
    "displayName": "canned",
    "accountEnabled": True,
    "alternativeSecurityIds": [],
    "physicalIds": [],
    "systemLabels": [],
}


def names(value):
    """Every member name in a JSON value, depth first."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from names(v)
    elif isinstance(value, list):
        for v in value:
            yield from names(v)


def latin1_label(name):
    """The name as this endpoint's (imaginary) Latin-1 index stores it."""
    return name.encode("latin-1")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, extra=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, extra=()):
        self.send(status, {"error": {"code": code, "message": code}}, extra)

    def authorized(self):
        auth = self.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            self.error(401, "InvalidAuthenticationToken", [("www-authenticate", "Bearer")])
            return False
        return True

    def body(self):
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.body()
        if not self.authorized():
            return
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if parts[-1:] == ["devices"]:
            self.send(200, {"value": []})
        else:
            self.error(404, "Request_ResourceNotFound")

    def do_POST(self):
        raw = self.body()
        if not self.authorized():
            return
        try:
            doc = json.loads(raw)
        except ValueError:
            # Waits for a body that makes sense; it never comes.
            time.sleep(3600)
            return
        try:
            for name in names(doc):
                latin1_label(name)
        except Exception:
            traceback.print_exc()
            sys.stderr.flush()
            os._exit(70)
        self.send(201, CANNED, [("location", "/me/devices/" + CANNED["id"])])

    def other(self):
        self.body()
        self.error(405, "MethodNotAllowed", [("allow", "GET, POST")])

    do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = other


def main():
    port = int(sys.argv[sys.argv.index("--port") + 1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"fragile listening on {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
