"""Gateway settings: one YAML file plus environment overrides.

Secrets never live in the file: components read them from the environment by name (for example the
Kakao secret header value from `SANGDAM_KAKAO_SECRET`). Overrides:

    SANGDAM_BOT, SANGDAM_STORE_URL, SANGDAM_RETENTION_S, SANGDAM_LOG_LEVEL, SANGDAM_HOST, SANGDAM_PORT,
    SANGDAM_PUBLIC_URL
    SANGDAM_CHANNELS=kakao,web            enables exactly these channels
    SANGDAM__a__b=value                   any nested key (value parsed as a YAML scalar), e.g.
                                          SANGDAM__channels__kakao__budget_s=3.5,
                                          SANGDAM__store__timeout_s=0.5
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import yaml

DEMO_BOT = str(Path(__file__).resolve().parent.parent / "bots" / "demo")


class SettingsError(ValueError):
    pass


class ServerSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: int = 8080
    # Proxy addresses/CIDRs whose X-Forwarded-For is believed; none by default (docs/web.md).
    trusted_proxies: list[str] = msgspec.field(default_factory=list)


class StoreSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Redis: a connect, and each wait for a reply, longer than this fails with StoreUnavailable (so a stopped
    # or frozen server is answered "try again shortly" instead of hanging requests).
    timeout_s: float = 1.0
    # Memory store: least-recently-used bounds, so RAM stays bounded whatever the retention (~1.3 KB of RSS per
    # customer: a conversation with its claim and key; see docs/architecture.md, Scale).
    max_conversations: int = 100_000
    max_keys: int = 200_000  # key/value entries, and as many idempotency claims

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"store.timeout_s must be positive, got {self.timeout_s}")
        if self.max_conversations < 1 or self.max_keys < 1:
            raise ValueError("store.max_conversations and store.max_keys must be at least 1")


class HandoffSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    sinks: list[str] = msgspec.field(default_factory=lambda: ["log", "store"])  # "log", "store", "webhook"
    webhook_url: str | None = None  # POSTed the Handoff packet as JSON when "webhook" is a sink


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    bot: str = DEMO_BOT  # bot pack folder
    store_url: str | None = None  # None = in-memory; redis://host:6379/0 for Redis
    retention_s: float = 30 * 86400  # conversation TTL
    store: StoreSettings = msgspec.field(default_factory=StoreSettings)
    log_level: str = "INFO"
    log_json: bool = True
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    # Per-channel config; each adapter parses its own section. `enabled: false` turns one off.
    channels: dict[str, dict[str, Any]] = msgspec.field(
        default_factory=lambda: {"kakao": {"enabled": True}, "web": {"enabled": True}}
    )
    handoff: HandoffSettings = msgspec.field(default_factory=HandoffSettings)
    brain: dict[str, Any] = {}  # LLM brain config (off unless an API key or base_url is given)
    # Where customers' apps reach this gateway, e.g. https://cs.example.com: the pack's own images
    # (`image_url: media/x.png`) are sent as <public_url>/media/x.png. None = http://{host}:{port}.
    public_url: str | None = None

    def __post_init__(self) -> None:
        if self.public_url is not None:
            parts = urlsplit(self.public_url)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
                raise ValueError(
                    f"public_url must be an http(s) address such as https://cs.example.com, got {self.public_url!r}"
                )

    def enabled_channels(self) -> list[str]:
        return [name for name, cfg in self.channels.items() if cfg.get("enabled", True)]

    def public_base_url(self) -> str:
        """`public_url` without a trailing slash, or the address the server listens on."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.server.host
        if host in ("0.0.0.0", "::", ""):  # listening everywhere: this machine's loopback is the one sure name
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.server.port}"


_FLAT_ENV = {
    "SANGDAM_BOT": ("bot",),
    "SANGDAM_STORE_URL": ("store_url",),
    "SANGDAM_RETENTION_S": ("retention_s",),
    "SANGDAM_LOG_LEVEL": ("log_level",),
    "SANGDAM_HOST": ("server", "host"),
    "SANGDAM_PORT": ("server", "port"),
    "SANGDAM_PUBLIC_URL": ("public_url",),
}
_RAW_ENV = ("bot", "public_url")  # taken as written, not parsed as YAML


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the YAML file (optional), apply environment overrides, validate."""
    env = env if env is not None else {}
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SettingsError(f"cannot read settings file {path}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise SettingsError(f"{path}: the top level must be a mapping of settings")
        raw = loaded
    for var, keys in _FLAT_ENV.items():
        if var in env:
            _set_nested(raw, keys, yaml.safe_load(env[var]) if keys[-1] not in _RAW_ENV else env[var])
    if "SANGDAM_CHANNELS" in env:
        wanted = {name.strip() for name in env["SANGDAM_CHANNELS"].split(",") if name.strip()}
        channels = raw.setdefault("channels", dict(Settings().channels))
        for name in wanted | set(channels):
            channels.setdefault(name, {})["enabled"] = name in wanted
    for var, value in env.items():
        if var.startswith("SANGDAM__"):
            _set_nested(raw, tuple(k for k in var[len("SANGDAM__") :].split("__") if k), yaml.safe_load(value))
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid settings: {exc}") from exc


def _set_nested(target: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    for key in keys[:-1]:
        child = target.get(key)
        if not isinstance(child, dict):
            child = {}
            target[key] = child
        target = child
    target[keys[-1]] = value
