"""A Slack-compatible webhook on 127.0.0.1 that records every JSON body it is sent (answers 200 "ok", as Slack does).

Shared by the alert tests (unit), the feed-delivery alert test and the daemon test, which all check what an
operator's alert channel would receive.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import free_port


class WebhookReceiver:
    """Start on construction, `close()` (or leave the `with` block) to stop; `received` holds the JSON bodies."""

    def __init__(self, path: str = "/services/T000/B000/hooksecret") -> None:
        received: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                return

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}{path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
