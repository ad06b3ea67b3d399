"""A proxy in front of a local S3 server that fails some requests on purpose, and counts them.

    python flaky_proxy.py LISTEN_PORT UPSTREAM_PORT FAIL_EVERY

Every FAIL_EVERY-th request (counting from the third, so that a test's set-up goes through) is
not forwarded: it is answered `503 SlowDown` as S3 does under load, or, every other time, the
connection is dropped without an answer (a reset, as from a load balancer). Everything else
goes to 127.0.0.1:UPSTREAM_PORT unchanged. FAIL_EVERY 0 fails nothing and only counts.

`GET /__proxy_stats` answers the counts as JSON: requests by method, ranged GETs, injected
failures, and the paths written, decoded: `puts` (PUT of a body or a multipart part, without the query)
and `copies` (PUT with `x-amz-copy-source`). The tests start and stop it; it never listens beyond 127.0.0.1.
"""

import http.client
import json
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LISTEN, UPSTREAM, FAIL_EVERY = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
LOCK = threading.Lock()
STATS = {"requests": 0, "by_method": {}, "ranged_gets": 0, "slow_down": 0, "dropped": 0, "puts": [], "copies": []}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_one(self):
        if self.path == "/__proxy_stats":
            body = json.dumps(STATS).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with LOCK:
            STATS["requests"] += 1
            n = STATS["requests"]
            by_method = STATS["by_method"]
            by_method[self.command] = by_method.get(self.command, 0) + 1
            if self.command == "GET" and self.headers.get("Range"):
                STATS["ranged_gets"] += 1
            if self.command == "PUT":
                written = "copies" if self.headers.get("x-amz-copy-source") else "puts"
                STATS[written].append(urllib.parse.unquote(self.path.split("?")[0]))
            fail = FAIL_EVERY > 0 and n > 2 and n % FAIL_EVERY == 0
            drop = fail and (n // FAIL_EVERY) % 2 == 0
            if fail:
                STATS["dropped" if drop else "slow_down"] += 1
        if drop:
            # An abrupt close: the client sees the connection reset mid-request.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            self.connection.close()
            return
        if fail:
            error = (
                b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                b"<Message>Please reduce your request rate.</Message></Error>"
            )
            self.send_response(503)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(error)))
            self.end_headers()
            self.wfile.write(error)
            return
        upstream = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        self.send_response(response.status, response.reason)
        head = self.command == "HEAD"
        for k, v in response.getheaders():
            # A HEAD answer's length is the object's, though no body follows.
            if k.lower() not in HOP_BY_HOP and (head or k.lower() != "content-length"):
                self.send_header(k, v)
        if not head:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)
        upstream.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one


ThreadingHTTPServer.daemon_threads = True
server = ThreadingHTTPServer(("127.0.0.1", LISTEN), Handler)
print(f"listening on {LISTEN}", flush=True)
server.serve_forever()
