"""RSS of the in-memory store under many distinct users: it must plateau at the configured bound.

    python bench/memory_store.py [--users 1000000] [--max-conversations N] [--max-keys N]

Drives distinct Kakao users through a MemoryStore the way a Kakao turn uses it: an idempotency claim,
the conversation lock, load (a new user: none), a conversation with a short masked transcript saved,
and a key/value put (the skill's pending-answer marker). Retention is 30 days, so nothing expires: only
the store's bounds (store.max_conversations / store.max_keys, defaults from core/settings.py) keep memory
in check. Prints VmRSS (from /proc/self/status) every 100,000 users and at the end, the store's entry
counts and evictions, Python's live allocated blocks (flat once the bound is reached: RSS above that is
the C allocator keeping freed memory for reuse), and the RSS per user measured before the bound.

Measured (defaults 100,000 / 200,000, Python 3.11, glibc): ~1,280 bytes per user before the bound; RSS
~234 MB at 1M users (31 MB at start) and flat at 264 MB from 2M to 4M users; live blocks flat from 300k.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.conversation import Conversation
from core.settings import StoreSettings
from core.store.memory import MemoryStore

RETENTION_S = 30 * 86400.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


async def kakao_turn(store: MemoryStore, n: int) -> None:
    user = f"u{n:012d}a7f3c9e2b1d4"  # Kakao's botUserKey is an opaque id of about this length
    key = "kakao:" + user
    await store.claim_once(f"kakao:msg:{user}:{n:08x}", 86400.0)
    async with store.lock(key):
        conv = await store.load(key) or Conversation(key=key, channel="kakao", user_id=user)
        conv.remember("customer", "주문한 상품 배송이 언제 오나요? 주문번호 ORD-2026-****", keep=20)
        conv.remember("bot", "주문번호를 확인했어요. 내일 오후에 도착할 예정입니다.", keep=20)
        conv.last_intent = "delivery_status"
        await store.save(conv)
    await store.put(f"kakao:pending:{user}", b"1", 300.0)


async def main() -> None:
    defaults = StoreSettings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--max-conversations", type=int, default=defaults.max_conversations)
    parser.add_argument("--max-keys", type=int, default=defaults.max_keys)
    parser.add_argument("--every", type=int, default=100_000, help="print RSS every N users")
    args = parser.parse_args()

    gc.collect()
    start_rss = rss_mb()
    store = MemoryStore(retention_s=RETENTION_S, max_conversations=args.max_conversations, max_keys=args.max_keys)
    print(
        f"bound: max_conversations={args.max_conversations:,} max_keys={args.max_keys:,} (and as many claims); "
        f"start RSS {start_rss:.1f} MB"
    )
    per_user: float | None = None
    started = time.perf_counter()
    for n in range(1, args.users + 1):
        await kakao_turn(store, n)
        if n == args.max_conversations and per_user is None:
            per_user = (rss_mb() - start_rss) * 1024 * 1024 / n  # before any eviction: growth per user
        if n % args.every == 0 or n == args.users:
            stats = store.stats()
            print(
                f"users {n:>9,}  RSS {rss_mb():7.1f} MB  conversations {stats['conversations']:>7,}  "
                f"keys {stats['keys']:>7,}  claims {stats['claims']:>7,}  "
                f"evicted {stats['evicted_conversations']:>7,}/{stats['evicted_keys']:,}/{stats['evicted_claims']:,}  "
                f"live blocks {sys.getallocatedblocks():,}  "
                f"{time.perf_counter() - started:5.1f} s",
                flush=True,
            )
    end_rss = rss_mb()
    if per_user is not None:
        print(f"RSS per user before the bound (conversation + claim + key): {per_user:,.0f} bytes")
    print(f"end RSS {end_rss:.1f} MB (start {start_rss:.1f} MB, growth {end_rss - start_rss:.1f} MB)")


if __name__ == "__main__":
    asyncio.run(main())
