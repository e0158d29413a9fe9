"""A real HTTP server on 127.0.0.1 for provider stand-ins, run in a thread.

A handler gets each request (method, path with query, headers, raw body) and
returns ``Reply(status, body, headers)``, or ``DROP`` to close the connection
without answering, or ``Reply(..., delay=s)`` to answer late (for timeouts).
Every request is recorded in ``server.requests``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON; str/bytes as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


DROP = object()
Handler = Callable[[Request], "Reply | object"]


class Server:
    def __init__(self, httpd: ThreadingHTTPServer) -> None:
        self.httpd = httpd
        self.requests: list[Request] = []

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"


@contextmanager
def serve(handler: Handler) -> Iterator[Server]:
    """Run ``handler`` behind a real HTTP server on 127.0.0.1:<free port>."""
    holder: dict[str, Server] = {}

    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # answer at once, not after the client's delayed ACK

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            self._handle()

        def do_GET(self) -> None:
            self._handle()

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(self.command, self.path,
                              {k.lower(): v for k, v in self.headers.items()}, body)
            server = holder["server"]
            server.requests.append(request)
            reply = handler(request)
            if reply is DROP:
                self.close_connection = True
                self.connection.close()
                return
            assert isinstance(reply, Reply)
            if reply.delay:
                time.sleep(reply.delay)  # the provider being slow, not the test waiting
            data = reply.body
            if isinstance(data, dict | list):
                data = json.dumps(data, ensure_ascii=False).encode()
            elif isinstance(data, str):
                data = data.encode()
            data = data or b""
            try:
                self.send_response(reply.status)
                for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

    class Listener(ThreadingHTTPServer):
        request_queue_size = 128  # a provider's accept queue, not socketserver's 5

    httpd = Listener(("127.0.0.1", 0), RequestHandler)
    httpd.daemon_threads = True
    server = holder["server"] = Server(httpd)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
