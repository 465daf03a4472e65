"""Pick the store from a URL setting (SANGDAM_STORE_URL or similar)."""

from __future__ import annotations

from urllib.parse import urlsplit

from core.store.base import Store
from core.store.memory import DEFAULT_MAX_CONVERSATIONS, DEFAULT_MAX_KEYS, MemoryStore
from core.store.redis import RedisStore

_REDIS_SCHEMES = ("redis", "rediss", "unix")


def make_store(
    url: str | None,
    retention_s: float,
    *,
    timeout_s: float = 1.0,
    max_conversations: int = DEFAULT_MAX_CONVERSATIONS,
    max_keys: int = DEFAULT_MAX_KEYS,
) -> Store:
    """None, "" or "memory://" give the in-process store; redis://, rediss:// and unix:// give Redis.

    `timeout_s` bounds Redis connects and replies (StoreUnavailable beyond it); `max_conversations` and
    `max_keys` bound the memory store (least recently used entries are evicted)."""
    if not url or url.strip() in ("memory://", "memory"):
        return MemoryStore(retention_s=retention_s, max_conversations=max_conversations, max_keys=max_keys)
    scheme = urlsplit(url.strip()).scheme.lower()
    if scheme in _REDIS_SCHEMES:
        return RedisStore.from_url(url.strip(), retention_s=retention_s, timeout_s=timeout_s)
    # Only the scheme is echoed: the rest of a store URL may hold a password.
    raise ValueError(
        f"unsupported store URL scheme {scheme + '://' if scheme else '(none)'}; "
        "use memory://, redis://host:port/db, rediss://host:port/db or unix:///path/to/socket"
    )
