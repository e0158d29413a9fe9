"""The channels' HTTP client (notifiers/_http.py) against a real server on 127.0.0.1:
no cookies kept, and every aiohttp failure an httpx error named for what happened."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest

from notifiers import http_client
from notifiers._base import post_json


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[dict[str, str]]] = []
    paths: ClassVar[list[str]] = []
    release = threading.Event()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Handler.seen.append({k.lower(): v for k, v in self.headers.items()})
        Handler.paths.append(self.path)
        if self.path.endswith("/drop"):  # close without an answer
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if self.path == "/slow":  # answer only after the client gave up
            Handler.release.wait(10)
        if self.path == "/garbage":
            self.wfile.write(b"this is not HTTP\r\n\r\n")
            self.close_connection = True
            return
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Set-Cookie", "session=abc123; Path=/")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    Handler.seen, Handler.paths = [], []
    Handler.release = threading.Event()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    Handler.release.set()
    httpd.shutdown()
    httpd.server_close()


def post(url: str, *, timeout: float = 5.0) -> httpx.Response | httpx.TransportError:
    async def run() -> httpx.Response | httpx.TransportError:
        async with http_client() as client:
            try:
                return await client.post(url, content=b"{}", timeout=timeout)
            except httpx.TransportError as error:
                return error
    return asyncio.run(run())


def test_cookies_set_by_an_endpoint_are_never_sent_back(server: str) -> None:
    async def run() -> list[int]:
        async with http_client() as client:
            first = await client.post(server + "/hook", content=b"{}")
            second = await client.post(server + "/hook", content=b"{}")
            return [first.status_code, second.status_code]

    assert asyncio.run(run()) == [200, 200]
    assert len(Handler.seen) == 2 and all("cookie" not in h for h in Handler.seen)


def test_the_request_goes_out_as_httpx_built_it(server: str) -> None:
    response = post(server + "/hook")
    assert isinstance(response, httpx.Response) and response.json() == {"ok": True}
    headers = Handler.seen[0]
    assert headers["content-length"] == "2" and headers["user-agent"].startswith("python-httpx")
    assert headers["host"] == server.removeprefix("http://")


def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
        error = post(f"http://127.0.0.1:{port}/hook")
    assert isinstance(error, httpx.ConnectError)


def test_a_dropped_connection_is_a_protocol_error_not_a_timeout(server: str) -> None:
    error = post(server + "/drop")
    assert isinstance(error, httpx.TransportError)
    assert not isinstance(error, httpx.TimeoutException), type(error)


def test_a_slow_answer_is_a_read_timeout(server: str) -> None:
    error = post(server + "/slow", timeout=0.3)
    assert isinstance(error, httpx.ReadTimeout)


def test_a_malformed_answer_is_a_transport_error(server: str) -> None:
    error = post(server + "/garbage")
    assert isinstance(error, httpx.RemoteProtocolError)


def test_post_json_reports_each_failure_as_transient(server: str) -> None:
    async def run(path: str, timeout: float) -> object:
        async with http_client() as client:
            return await post_json(client, server + path, content=b"{}", timeout=timeout)

    dropped, slow = asyncio.run(run("/drop", 5)), asyncio.run(run("/slow", 0.3))
    assert (dropped.outcome.value, dropped.code) == ("transient", "network")  # type: ignore[attr-defined]
    assert (slow.outcome.value, slow.code) == ("transient", "timeout")  # type: ignore[attr-defined]


def test_a_proxy_from_the_environment_is_used(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offices behind a proxy set HTTP_PROXY; the stand-in server plays the proxy here."""
    monkeypatch.setenv("HTTP_PROXY", server)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    response = post("http://robot.jiedian.invalid/hook")
    assert isinstance(response, httpx.Response) and response.status_code == 200
    assert Handler.seen[0]["host"] == "robot.jiedian.invalid"
    assert Handler.paths == ["http://robot.jiedian.invalid/hook"]  # absolute form: a proxy request
