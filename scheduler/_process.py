"""The long-running process around the daemon: its log, its port, uvicorn, its signals.

``serve`` and ``dispatch`` are the CLI's two process commands; what they share with a
deployment's service manager (SIGTERM stops the daemon first, then the web server; claimed
reminders are given back; a busy port fails before anything is loaded) lives here, so
cli.py only parses and prints.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from scheduler._daemon import Daemon
from scheduler._settings import SettingsError

__all__ = ["check_port", "configure_logging", "dispatch_until", "run_server"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
log = logging.getLogger("jiedian")


def configure_logging(as_json: bool) -> None:
    """Jiedian's, uvicorn's and APScheduler's log to stderr: JSON lines, or text stamped with
    Beijing time and its zone (an office reads the log in local time)."""
    handler = logging.StreamHandler(sys.stderr)
    if as_json:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_LocalFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    for name in ("uvicorn", "apscheduler"):
        logging.getLogger(name).handlers[:] = [handler]
        logging.getLogger(name).setLevel(logging.WARNING if name == "apscheduler" else logging.INFO)
    logging.getLogger("uvicorn.error").handlers[:] = []  # it propagates to "uvicorn"


class _LocalFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, SHANGHAI).isoformat(timespec="milliseconds")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def check_port(host: str, port: int) -> None:
    """SettingsError when ``host:port`` is taken: said before anything is loaded or sent
    (uvicorn would only print Errno 98 once the daemon had started)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise SettingsError(f"cannot listen on {host}:{port}: {error.strerror}; choose "
                                f"another --port, or stop what holds it") from None


@contextmanager
def _on_stop(stop: Callable[..., Any]) -> Iterator[None]:
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    yield


def run_server(web: Any, host: str, port: int, daemon: Daemon | None = None) -> None:
    """Serve ``web`` on uvicorn until SIGTERM/SIGINT, with ``daemon`` running beside it: our
    signal handler stops uvicorn, then the daemon gives its claimed reminders back."""
    import uvicorn

    class Server(uvicorn.Server):  # minus uvicorn's own signal handling
        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    server = Server(uvicorn.Config(web, host=host, port=port, log_config=None, access_log=False))
    with _on_stop(lambda *_: setattr(server, "should_exit", True)):
        if daemon is not None:
            daemon.start()
        try:
            server.run()
        finally:
            if daemon is not None:
                log.info("stopped; %d claimed reminders given back", daemon.stop())


def dispatch_until(daemon: Daemon, clock: Callable[[], datetime], *, until_idle: bool,
                   tick: float) -> int:
    """Tick once, or (``until_idle``) until nothing is left to send or a signal comes; how
    many reminders were sent."""
    stopping, total = [], 0
    with _on_stop(lambda *_: stopping.append(True)):
        try:
            while True:
                total += daemon.tick().sent
                if not until_idle or stopping or not daemon.dispatcher.outstanding(clock()):
                    break
                time.sleep(tick)  # the process's own pace between ticks
        finally:
            daemon.stop()
    return total
