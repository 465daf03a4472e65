"""CORS for the web API: the gateway's own pages plus an allow-list from the settings."""

from __future__ import annotations

from urllib.parse import urlsplit

ALLOW_HEADERS = "Authorization, Content-Type, Last-Event-ID"
ALLOW_METHODS = "GET, POST, OPTIONS"


class OriginPolicy:
    def __init__(self, allowed: list[str]) -> None:
        self._any = "*" in allowed
        self._allowed = {o.rstrip("/").lower() for o in allowed if o != "*"}

    def check(self, origin: str | None, host: str | None) -> dict[str, str] | None:
        """CORS headers for a request from `origin`, {} when none are needed, None when it is refused."""
        if origin is None:
            return {}  # not a cross-origin browser request (curl, server-to-server, same-origin GET)
        origin = origin.rstrip("/").lower()
        same_host = host is not None and urlsplit(origin).netloc == host.lower()
        if not (same_host or self._any or origin in self._allowed):
            return None
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin", "Access-Control-Max-Age": "600"}

    @staticmethod
    def preflight_headers() -> dict[str, str]:
        return {"Access-Control-Allow-Methods": ALLOW_METHODS, "Access-Control-Allow-Headers": ALLOW_HEADERS}
