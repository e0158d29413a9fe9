"""The HTTP client every channel sends through: httpx in front, aiohttp underneath.

Channels, signers (``httpx.Auth``) and tests see only httpx. The bytes move through aiohttp by
way of httpx-aiohttp's transport (written by an httpx maintainer; the OpenAI and Anthropic SDKs
offer the same pairing), because httpx's own transport, httpcore, is pure Python: measured in
bench/webhooks.py on this project's 2-core machine, httpcore costs about 1.9 ms of CPU per signed
POST and aiohttp about 0.6 ms, which is 460 against 1,500 messages a second from one process.

httpx-aiohttp turns aiohttp's errors into httpx's with a coarse map (a dropped connection
becomes ``ConnectTimeout``, and an aiohttp error outside its map escapes as it is), so the
transport here translates every aiohttp error itself: channels only ever see
``httpx.TimeoutException`` or another ``httpx.TransportError``, named for what happened.
Proxies from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) are honoured by aiohttp
(``trust_env``, read when the client first sends): httpx ignores them once a transport is
given.
"""

from __future__ import annotations

import logging
import re
import urllib.request
from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

__all__ = ["CONNECTIONS", "http_client"]

# Keep-alive connections per client (``notify test`` and benches; the dispatcher asks for its
# own pool, 64, for many hosts at once).
CONNECTIONS = 16
# At most this many connections to one host, whatever the pool allows: a burst of 64 connects
# overflowed a small receiver's accept queue (Python's http.server listens with a backlog
# of 5), requests sat in retransmission past the 10 s timeout, were handled late and then
# sent again. 8 carried 2,047 signed POSTs a second to one host (bench/webhooks.py).
PER_HOST = 8


class _RedactQuery(logging.Filter):
    """Masks credentials in the URLs httpx logs (``HTTP Request: GET …`` at INFO): DingTalk's
    gettoken takes the AppKey and AppSecret in the query, WeCom's the corpsecret, and every
    robot URL carries its access_token or key."""

    SECRET_PARAMS = re.compile(r"\b(appkey|appsecret|corpsecret|access_token|key)=[^&\s\"']*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self.SECRET_PARAMS.sub(r"\1=***", str(arg))
                                if isinstance(arg, httpx.URL | str) else arg
                                for arg in record.args)
        return True


# On the logger, not a handler: whoever turns httpx's log on later gets the masked URLs.
logging.getLogger("httpx").addFilter(_RedactQuery())


def _translated(error: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error for an aiohttp one (or for httpx-aiohttp's coarse translation of it)."""
    cause = error.__cause__ if isinstance(error, httpx.TransportError) else error
    if cause is None:
        cause = error
    text = str(cause) or type(cause).__name__
    kind: type[httpx.TransportError]
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(cause, TimeoutError):  # aiohttp's read timeouts are TimeoutErrors too
        kind = httpx.ReadTimeout
    elif isinstance(cause, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError
    elif isinstance(cause, aiohttp.ServerDisconnectedError):
        kind = httpx.RemoteProtocolError
    elif isinstance(cause, aiohttp.ClientPayloadError | aiohttp.ClientOSError):
        kind = httpx.ReadError
    elif isinstance(cause, aiohttp.InvalidURL):
        kind = httpx.UnsupportedProtocol
    elif isinstance(cause, httpx.TransportError):
        kind = type(cause)
    else:  # a malformed answer (ClientResponseError and the like)
        kind = httpx.RemoteProtocolError
    return kind(text, request=request)


_ERRORS = (httpx.TransportError, aiohttp.ClientError, TimeoutError)


class _Body(httpx.AsyncByteStream):
    """The answer's body, with errors while reading it translated like the request's."""

    def __init__(self, stream: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._stream, self._request = stream, request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except _ERRORS as error:
            raise _translated(error, self._request) from error

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        except _ERRORS as error:
            raise _translated(error, self._request) from error


def _proxies_in_environment() -> bool:
    return any(scheme in ("http", "https", "all") for scheme in urllib.request.getproxies())


class Transport(AiohttpTransport):
    """httpx-aiohttp's transport with every failure an ``httpx.TransportError`` and no cookies."""

    def get_client(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self.limits.max_connections or 0,
                                         limit_per_host=PER_HOST,
                                         keepalive_timeout=self.limits.keepalive_expiry,
                                         ssl=self.ssl_context)
        # aiohttp keeps cookies per session and sends them back; channels must not.
        # trust_env costs a proxy and ~/.netrc lookup per request (it doubled the CPU of a
        # send), so it is on only when the environment names a proxy.
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                     trust_env=_proxies_in_environment())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except _ERRORS as error:
            raise _translated(error, request) from error
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Body(response.stream, request)
        return response


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _Client(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` without cookies.

    Channels are stateless: a cookie one endpoint sets must not ride along to the next
    request, and reading Set-Cookie through urllib's cookie machinery cost about 0.18 ms per
    answer (a tenth of a send, bench/dispatch.py --profile).
    """

    def __init__(self, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self._cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("the channels' HTTP client keeps no cookies")


def http_client(*, connections: int = CONNECTIONS,
                transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` for channels: pooled keep-alive connections over aiohttp,
    no cookies kept.

    ``transport`` replaces aiohttp (tests pass ``httpx.MockTransport``). Use it inside the
    event loop that will send: aiohttp binds its session to the loop of its first request.
    """
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return _Client(transport=transport or Transport(limits=limits), limits=limits)
