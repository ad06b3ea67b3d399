"""A local stand-in for Acoustic Exchange's `POST /v1/event`, for the publish tests.

    python exchange_server.py KEY FAULT_RATE SEED [REFUSE_MARKER]

Listens on 127.0.0.1 on a port the kernel picks, and prints that port on its first line.
Every request must carry `Authorization: Bearer KEY` (else 401) and `Content-Type:
application/json`, and its body must have the shape of an Exchange event request (else 400
with the reason): `channel` a string, `identifiers` a non-empty list of `{name, value}`
strings, `events` a non-empty list of `{code, timestamp, attributes}` whose attributes are
`{name, value, type}` strings. A body containing REFUSE_MARKER is answered 400.

A fraction FAULT_RATE of requests (random, from SEED) fails before anything is accepted:
429 with `Retry-After: 1`, 503, a connection dropped without an answer, or (a quarter of
faults) an answer delayed by 0.3 s that then succeeds. No fault loses the answer of a body
it accepted: acceptance is recorded only as the 200 is sent.

`GET /__stats` answers JSON: `requests`, `accepted` (each accepted body's text, in order),
`faults` by kind, `unauthorized`, `refused`. `POST /__faults` with a number sets FAULT_RATE;
`POST /__delay` with a number of seconds delays every answer to come by that much. A POST
under `/moved/` is answered 302 to the same path without `/moved` (a gateway's redirect).
"""

import json
import random
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEY, SEED = sys.argv[1], int(sys.argv[3])
STATE = {"fault_rate": float(sys.argv[2]), "delay": 0.0}
MARKER = sys.argv[4] if len(sys.argv) > 4 else None
LOCK = threading.Lock()
RNG = random.Random(SEED)
STATS = {"requests": 0, "accepted": [], "faults": {}, "unauthorized": 0, "refused": 0}


def shape_error(body):
    try:
        doc = json.loads(body)
    except ValueError as e:
        return f"not JSON: {e}"
    if not isinstance(doc, dict) or not isinstance(doc.get("channel"), str):
        return "channel must be a string"
    ids = doc.get("identifiers")
    if not isinstance(ids, list) or not ids:
        return "identifiers must be a non-empty list"
    for i in ids:
        if not isinstance(i, dict) or not all(isinstance(i.get(k), str) for k in ("name", "value")):
            return "an identifier must have string name and value"
    events = doc.get("events")
    if not isinstance(events, list) or not events:
        return "events must be a non-empty list"
    for e in events:
        if not isinstance(e, dict) or not all(isinstance(e.get(k), str) for k in ("code", "timestamp")):
            return "an event must have string code and timestamp"
        for a in e.get("attributes", None) or []:
            if not all(isinstance(a.get(k), str) for k in ("name", "value", "type")):
                return "an attribute must have string name, value and type"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != "/__stats":
            return self.answer(404)
        with LOCK:
            body = json.dumps(STATS).encode()
        self.answer(200, body, [("Content-Type", "application/json")])

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        if self.path in ("/__faults", "/__delay"):
            STATE["fault_rate" if self.path == "/__faults" else "delay"] = float(body)
            return self.answer(200)
        if self.path.startswith("/moved/"):
            # A gateway in front of the API: a client that follows this loses the body.
            return self.answer(302, b"", [("Location", self.path[len("/moved"):])])
        if self.path != "/v1/event":
            return self.answer(404)
        with LOCK:
            STATS["requests"] += 1
            fault = None
            if RNG.random() < STATE["fault_rate"]:
                fault = RNG.choice(["429", "503", "drop", "slow"])
                STATS["faults"][fault] = STATS["faults"].get(fault, 0) + 1
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            with LOCK:
                STATS["unauthorized"] += 1
            return self.answer(401, b'{"error":"invalid token"}')
        if fault == "429":
            return self.answer(429, b"slow down", [("Retry-After", "1")])
        if fault == "503":
            return self.answer(503, b"unavailable")
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault == "slow":
            time.sleep(0.3)
        time.sleep(STATE["delay"])
        if self.headers.get("Content-Type") != "application/json":
            return self.answer(415, b"Content-Type must be application/json")
        problem = shape_error(body)
        if problem is None and MARKER and MARKER in body:
            problem = "identifier not registered"
        if problem:
            with LOCK:
                STATS["refused"] += 1
            return self.answer(400, json.dumps({"error": problem}).encode())
        with LOCK:
            STATS["accepted"].append(body)
            self.answer(202, b'{"status":"accepted"}', [("Content-Type", "application/json")])


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
