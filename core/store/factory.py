"""Pick the store from a URL setting (SANGDAM_STORE_URL or similar)."""

from __future__ import annotations

from urllib.parse import urlsplit

from core.store.base import Store
from core.store.memory import MemoryStore
from core.store.redis import RedisStore

_REDIS_SCHEMES = ("redis", "rediss", "unix")


def make_store(url: str | None, retention_s: float) -> Store:
    """None, "" or "memory://" give the in-process store; redis://, rediss:// and unix:// give Redis."""
    if not url or url.strip() in ("memory://", "memory"):
        return MemoryStore(retention_s=retention_s)
    scheme = urlsplit(url.strip()).scheme.lower()
    if scheme in _REDIS_SCHEMES:
        return RedisStore.from_url(url.strip(), retention_s=retention_s)
    # Only the scheme is echoed: the rest of a store URL may hold a password.
    raise ValueError(
        f"unsupported store URL scheme {scheme + '://' if scheme else '(none)'}; "
        "use memory://, redis://host:port/db, rediss://host:port/db or unix:///path/to/socket"
    )
