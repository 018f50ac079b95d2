"""Serve a simulated publisher over real HTTP on 127.0.0.1, optionally with injected faults.

Simulated mode uses it so that the live client code runs unchanged; tests use the fault plan to prove that
retries, Retry-After, truncated bodies and error pages are handled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from resources.simulated.publisher import Request, Response, SimulatedPublisher

FaultKind = Literal["status", "retry_after", "timeout", "truncate", "html", "body", "trickle", "chunked_cut"]


@dataclass
class Fault:
    """Misbehave on requests whose path contains `path_contains`, for the first `times` matching requests."""

    kind: FaultKind
    path_contains: str = ""
    times: int = 1
    status: int = 500
    retry_after: str | None = None
    # "trickle": seconds between pieces; "timeout": how long to hold the answer at most (see `_stall`)
    delay_s: float = 0.0
    body: bytes | None = None
    hits: int = 0

    def applies(self, path: str) -> bool:
        return self.path_contains in path and self.hits < self.times


@dataclass
class FaultPlan:
    faults: list[Fault] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, path: str) -> Fault | None:
        with self.lock:
            self.requests.append(path)
            for fault in self.faults:
                if fault.applies(path):
                    fault.hits += 1
                    return fault
        return None


# A "timeout" fault answers, late, a client still waiting after this long: one whose timeout does not work shows up
# as one request too few, not as a hung test.
STALL_LIMIT_S = 30.0

HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>503 Service Temporarily Unavailable</title></head>\n"
    b"<body><h1>Service Temporarily Unavailable</h1><p>Please try again later.</p></body></html>\n"
)


def _make_handler(app: SimulatedPublisher, plan: FaultPlan) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet: tests and runs stay readable
            return

        def _send(self, response: Response, *, truncate: bool = False) -> None:
            body = response.body
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            if truncate:
                self.send_header("Connection", "close")
            self.end_headers()
            if truncate:
                self.wfile.write(body[: max(1, len(body) // 2)])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

        def _trickle(self, body: bytes, every_s: float) -> None:
            """Send `body` 10 bytes at a time, one piece every `every_s` seconds (a publisher that never stalls)."""
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for at in range(0, len(body), 10):
                    self.wfile.write(body[at : at + 10])
                    self.wfile.flush()
                    time.sleep(every_s)
            except OSError:  # the client gave up
                self.close_connection = True

        def _stall(self, limit_s: float) -> bool:
            """Send nothing until the client gives up and closes the connection (True), or `limit_s` passes (False).

            Waiting for the client's own disconnect instead of sleeping a fixed time means a loaded machine cannot
            let the answer slip in before the client's read timeout fires, and the fault costs only that timeout."""
            self.connection.settimeout(limit_s)
            try:
                while self.connection.recv(4096):
                    pass
            except TimeoutError:
                return False
            except OSError:
                pass
            self.close_connection = True
            return True

        def do_GET(self) -> None:
            split = urlsplit(self.path)
            fault = plan.take(split.path)
            if fault is not None:
                if fault.kind == "timeout":
                    if self._stall(fault.delay_s or STALL_LIMIT_S):
                        return
                    self.connection.settimeout(None)  # a client without a read timeout gets the answer, late
                elif fault.kind in ("status", "retry_after"):
                    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                    self._send(Response(fault.status, fault.body or b"error\n", headers=headers))
                    return
                elif fault.kind == "chunked_cut":  # a chunked body whose connection drops before its last chunk
                    body = fault.body or b"DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2024,13.21,14.23,13.10,13.2"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/csv")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self.wfile.write(f"{len(body):x}\r\n".encode() + body + b"\r\n")
                    self.wfile.flush()
                    self.close_connection = True
                    return
                elif fault.kind == "trickle":
                    self._trickle(fault.body or b"x" * 10_000, fault.delay_s or 1.5)
                    return
                elif fault.kind == "html":
                    self._send(Response(200, HTML_ERROR_PAGE, "text/html; charset=utf-8"))
                    return
                elif fault.kind == "body":
                    self._send(Response(200, fault.body or b""))
                    return
            request = Request(
                method="GET",
                path=split.path,
                query=parse_qs(split.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
            )
            try:
                response = app.handle(request)
            except Exception as exc:  # a bug in the simulator must show up as a 500, not hang the client
                response = Response(500, f"simulated publisher error: {exc}\n".encode())
            self._send(response, truncate=fault is not None and fault.kind == "truncate")

    return Handler


SHUTDOWN_POLL_S = 0.02


@contextmanager
def serve_publisher(app: SimulatedPublisher, plan: FaultPlan | None = None) -> Iterator[str]:
    """Run the publisher on 127.0.0.1 (a free port) for the duration of the block; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(app, plan or FaultPlan()))
    server.daemon_threads = True
    # shutdown() waits for the serving loop to look at its flag, which it does every poll interval: at the default
    # 0.5 s each ingest step waited ~0.3 s for its publisher to stop (1.8 s of a fresh-clone `nexus run`)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S}, name="simulated-publisher", daemon=True
    )
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
