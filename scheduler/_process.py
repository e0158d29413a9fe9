"""The long-running process around the daemon: its log, its port, uvicorn, its signals.

``serve`` and ``dispatch`` are the CLI's two process commands; what they share with a
deployment's service manager (SIGTERM stops the daemon first, then the web server; claimed
reminders are given back; a busy port fails before anything is loaded) lives here, so
cli.py only parses and prints.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from scheduler._settings import SettingsError

if TYPE_CHECKING:  # `jiedian when` reads the clock here and must not load the store
    from scheduler._daemon import Daemon
    from scheduler._office import Office

__all__ = ["check_port", "configure_logging", "dispatch", "dispatch_until", "frozen_clock",
           "run_cli", "run_server", "running_clock", "serve", "serve_feeds", "warn_if_open"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
log = logging.getLogger("jiedian")
_STARTED = time.monotonic()


def frozen_clock() -> datetime:
    """The clock of a command. JIEDIAN_NOW (ISO 8601; Beijing time unless it names a zone)
    freezes it, for tests and demos."""
    frozen = os.environ.get("JIEDIAN_NOW")
    if not frozen:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(frozen)
    except ValueError:
        raise SettingsError(f"JIEDIAN_NOW “{frozen}”: write an ISO date-time, 2011-04-20T09:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def running_clock() -> datetime:
    """The daemon's clock: real, or JIEDIAN_NOW moving on from the process's start."""
    if not os.environ.get("JIEDIAN_NOW"):
        return datetime.now(UTC)
    return frozen_clock() + timedelta(seconds=time.monotonic() - _STARTED)


def run_cli(app: Callable[[], object], told: list[str], say: Callable[[str], object]) -> None:
    """Run the command-line ``app``: a user's mistake never ends in a traceback, nor does
    Ctrl-C, even one that lands inside an import (which can leave a half-loaded module that
    fails later): "interrupted", exit 130 (``told``: the app already said why)."""
    interrupted: list[bool] = []

    def on_interrupt(_signum: int, _frame: object) -> None:
        interrupted.append(True)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        app()
        return
    except Exception:
        if not interrupted:
            raise
    except KeyboardInterrupt:
        pass
    if not told:
        say("interrupted")
    sys.exit(130)


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


def warn_if_open(office: Office, host: str) -> None:
    """Loudly, when the office's own pages would answer anyone who can reach ``host``."""
    if office.admin_token or host in ("127.0.0.1", "::1", "localhost"):
        return
    log.warning("!!! listening on %s without JIEDIAN_ADMIN_TOKEN: anyone who reaches this address "
                "sees every plan's nodes and which units are overdue (/, /status, /year and the "
                "all-plans and per-plan feeds); set JIEDIAN_ADMIN_TOKEN (environment or secrets "
                "file), or listen on 127.0.0.1 behind a proxy that checks who asks", host)


def serve(office: Office, host: str, port: int, *, demo: bool, log_json: bool,
          **daemon_options: Any) -> None:
    """``jiedian serve``: the daemon and the web side in one process, until a signal."""
    configure_logging(log_json)
    check_port(host, port)
    warn_if_open(office, host)
    for line in office.bootstrap(demo=demo):
        log.info(line)
    daemon = office.daemon(clock=running_clock, **daemon_options)
    web = office.web(clock=running_clock, health=daemon.health, metrics=daemon.dispatcher.metrics)
    log.info("serving feeds and the calendar at http://%s:%d/ (links as %s); database %s; worker %s",
             host, port, office.settings.base_url, office.engine.url.render_as_string(),
             daemon.dispatcher.worker)
    run_server(web, host, port, daemon)


def serve_feeds(office: Office, host: str, port: int) -> None:
    """``jiedian feeds serve``: the feeds and pages only, nothing is sent."""
    configure_logging(False)
    check_port(host, port)
    warn_if_open(office, host)
    web = office.web(clock=running_clock)
    log.info("serving feeds at http://%s:%d/", host, port)
    run_server(web, host, port)


def dispatch(office: Office, *, until_idle: bool, tick: float, **daemon_options: Any) -> tuple[str, int]:
    """``jiedian dispatch``: this worker's name and how many reminders it sent."""
    configure_logging(False)
    office.bootstrap(demo=False)
    daemon = office.daemon(clock=running_clock, tick=tick, **daemon_options)
    return daemon.dispatcher.worker, dispatch_until(daemon, running_clock, until_idle=until_idle, tick=tick)
