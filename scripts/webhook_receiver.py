"""A referral-graph webhook receiver: checks each delivery's signature, prints each event once.

    WEBHOOK_SECRET=whsec_... python scripts/webhook_receiver.py 8900

The standard library only. A delivery is signed as ``RG-Signature: t=<unix seconds>,v1=<hex
HMAC-SHA256 of "<t>.<body>" under the secret>``; this answers 401 to a bad or stale signature
(a replay) and 204 to a good one. Deliveries come at least once: repeats are dropped by id.
"""

import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ["WEBHOOK_SECRET"].encode()
TOLERANCE = 300  # seconds
seen: set[str] = set()


def verify(header: str, body: bytes) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t = parts.get("t", "")
    expected = hmac.new(SECRET, t.encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = t.isdigit() and abs(time.time() - int(t)) < TOLERANCE
    return fresh and hmac.compare_digest(expected, parts.get("v1", ""))


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if not verify(self.headers.get("rg-signature", ""), body):
            self.send_response(401)
        else:
            event = json.loads(body)
            if event["id"] not in seen:
                seen.add(event["id"])
                print(json.dumps(event), flush=True)
            self.send_response(204)
        self.end_headers()


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8900
    HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
