"""Settings of the web channel: the `channels.web` section of the gateway settings.

Every field has a working default, so `channels: {web: {enabled: true}}` is a complete section. The
token secret never lives here: `secret_env` names the environment variable holding it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import msgspec

from core.settings import SettingsError

MIN_SECRET_CHARS = 32


class WebConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    enabled: bool = True
    api_path: str = "/web/api"
    demo_page: bool = True  # the demo product-support page at "/"
    widget_path: str = "/widget.js"
    # Origins allowed to call the API from a browser ("https://www.example.com"); "*" = any.
    # The gateway's own pages (same host) are always allowed.
    allowed_origins: list[str] = []
    secret_env: str = "SANGDAM_WEB_SECRET"
    token_ttl_s: float = 30 * 86400.0
    history_limit: int = 200
    rate_limit: int = 20  # customer messages per session per window
    rate_window_s: float = 60.0
    sessions_per_ip: int = 30  # new sessions per client IP per hour
    max_text_chars: int = 1000
    max_payload_chars: int = 200
    max_body_bytes: int = 16 * 1024
    heartbeat_s: float = 15.0
    # Streams end after this long and the client resumes with Last-Event-ID, so a graceful shutdown
    # never waits on an idle stream for long.
    stream_max_s: float = 30.0
    poll_s: float = 1.0  # how often a stream looks for events written by other gateway processes
    presence_ttl_s: float = 45.0
    title: str = ""  # panel title; empty = "<brand> 고객지원"
    turn_error_text: str = "죄송해요, 잠시 문제가 생겼어요. 잠시 후 다시 말씀해 주세요."

    def __post_init__(self) -> None:
        for name in ("api_path", "widget_path"):
            value = getattr(self, name)
            if not value.startswith("/") or value.endswith("/"):
                raise ValueError(f"{name} must start with '/' and not end with '/', got {value!r}")
        for origin in self.allowed_origins:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"allowed_origins entries must be '*' or start with http(s)://, got {origin!r}")
        positive = ("token_ttl_s", "rate_window_s", "heartbeat_s", "stream_max_s", "poll_s", "presence_ttl_s")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if min(self.history_limit, self.rate_limit, self.sessions_per_ip, self.max_text_chars) < 1:
            raise ValueError("history_limit, rate_limit, sessions_per_ip and max_text_chars must be >= 1")

    def secret(self, env: Mapping[str, str]) -> tuple[bytes, bool]:
        """The HMAC secret and whether it came from the environment (else a fresh random dev secret)."""
        value = env.get(self.secret_env, "")
        if value:
            if len(value) < MIN_SECRET_CHARS:
                raise SettingsError(f"{self.secret_env} must be at least {MIN_SECRET_CHARS} characters long")
            return value.encode("utf-8"), True
        return secrets.token_bytes(32), False


def parse_config(section: Mapping[str, Any]) -> WebConfig:
    """Validate the `channels.web` section; errors name the offending key."""
    try:
        return msgspec.convert(dict(section), WebConfig, strict=False)
    except (msgspec.ValidationError, ValueError) as exc:
        raise SettingsError(f"invalid channels.web settings: {exc}") from exc
