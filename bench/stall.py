"""Does one hostile request stall the gateway? /healthz latency while 250 KB bodies of PII arrive.

    .venv/bin/python bench/stall.py                 # 3 rounds of every attack
    .venv/bin/python bench/stall.py --rounds 10 --size 250000

What runs: the real gateway (`python -m sangdam serve`, default settings: INFO JSON logs to a file,
memory store, demo bot) with the Kakao, web and Slack channels, no Kakao secret (the default, so the
skill URL is open) and a Slack signing secret. A poller asks GET /healthz every 20 ms on its own
connection while attack requests are sent one after another:
  * kakao-<kind>  a SkillPayload whose utterance is --size characters of repeated e-mails, phones,
                  card numbers or RRNs (refused by the body or utterance caps, or answered);
  * slack-<kind>  a --size body of the same text to the Slack events URL with a bad signature (bolt
                  refuses it; it used to log the whole body, and the masker took 16 s on it);
  * web-<kind>    the largest web message the API accepts, of the same text.
With the default caps a Kakao utterance over 1,000 characters is refused before any work; run with
SANGDAM__channels__kakao__max_utterance_chars=300000 to have the whole turn (masking included) run on
the 250 KB text. Printed: each attack's status and time, and the /healthz p50/p99/max over the whole run. Target
(issue 10): /healthz answers within 0.5 s throughout. The poller and the attacker share one process
(not the gateway's), so their own work never shows up as the gateway's stall.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HEALTH_TARGET_S = 0.5

UNITS = {
    "email": "kim.minsu{n}@example.com ",
    "phone": "010-{a:04d}-{b:04d} ",
    "card": "4111 1111 1111 1111 ",
    "rrn": "850106-2178898 ",
}


def hostile_text(kind: str, size: int) -> str:
    pieces: list[str] = []
    total = n = 0
    while total < size:
        piece = UNITS[kind].format(n=n, a=n % 10000, b=(n * 7) % 10000)
        pieces.append(piece)
        total += len(piece)
        n += 1
    return "".join(pieces)[:size]


def kakao_body(utterance: str) -> bytes:
    payload = {
        "intent": {"id": "b1", "name": "폴백 블록"},
        "userRequest": {
            "timezone": "Asia/Seoul",
            "params": {},
            "block": {"id": "b1", "name": "폴백 블록"},
            "utterance": utterance,
            "lang": "ko",
            "user": {"id": "stall-bench-user", "type": "botUserKey", "properties": {}},
        },
        "bot": {"id": "bot-1", "name": "bench"},
        "action": {"name": "sangdam", "clientExtra": None, "params": {}, "id": "a1", "detailParams": {}},
    }
    return json.dumps(payload, ensure_ascii=False).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_gateway(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SANGDAM_PORT": str(port),
        "SANGDAM_CHANNELS": "kakao,web,slack",
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": "bench-signing-secret",
        "SANGDAM__channels__slack__api_base_url": "http://127.0.0.1:9/api/",  # never called here
    }
    log = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "sangdam", "serve"], cwd=ROOT, env=env, stderr=log, stdout=log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the gateway did not start; see {log_path}")


async def poll_health(base: str, stop: asyncio.Event, latencies: list[float]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            response = await client.get("/healthz")
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
            await asyncio.sleep(0.02)


async def attack(base: str, name: str, method: str, path: str, body: bytes, headers: dict[str, str]) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        started = time.perf_counter()
        response = await client.request(method, path, content=body, headers=headers)
        took = time.perf_counter() - started
        return f"{name:<12} {response.status_code}  {took * 1000:8.1f} ms  {response.text[:70]!r}"


async def web_attack(base: str, kind: str, size: int) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        config = (await client.get("/web/api/config")).json()
        session = (await client.post("/web/api/sessions", json={})).json()
        text = hostile_text(kind, min(size, config["max_text_chars"]))
        body = json.dumps({"id": os.urandom(8).hex(), "text": text}, ensure_ascii=False).encode()
        headers = {"Authorization": f"Bearer {session['token']}", "Content-Type": "application/json"}
    return await attack(base, f"web-{kind}", "POST", "/web/api/messages", body, headers)


async def run(base: str, rounds: int, size: int) -> list[float]:
    stop = asyncio.Event()
    latencies: list[float] = []
    poller = asyncio.create_task(poll_health(base, stop, latencies))
    await asyncio.sleep(0.3)
    json_type = {"Content-Type": "application/json"}
    slack_headers = {**json_type, "X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=bad"}
    for _ in range(rounds):
        for kind in UNITS:
            text = hostile_text(kind, size)
            print(await attack(base, f"kakao-{kind}", "POST", "/kakao/skill", kakao_body(text), json_type))
            slack_body = json.dumps({"type": "event_callback", "event": {"text": text}}).encode()
            print(await attack(base, f"slack-{kind}", "POST", "/slack/events", slack_body, slack_headers))
            print(await web_attack(base, kind, size))
    await asyncio.sleep(0.3)
    stop.set()
    await poller
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=250_000, help="characters of hostile text per request")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "gateway.log"
        proc = start_gateway(port, log_path)
        try:
            latencies = asyncio.run(run(f"http://127.0.0.1:{port}", args.rounds, args.size))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        log_bytes = log_path.stat().st_size
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    worst = latencies[-1]
    ms = {name: f"{value * 1000:.1f} ms" for name, value in (("p50", p50), ("p99", p99), ("max", worst))}
    print(f"\n/healthz over {len(latencies)} polls: p50 {ms['p50']}, p99 {ms['p99']}, max {ms['max']}")
    print(f"gateway log: {log_bytes} bytes (INFO, default settings)")
    print(f"target: max <= {HEALTH_TARGET_S * 1000:.0f} ms -> {'met' if worst <= HEALTH_TARGET_S else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
