"""Gateway settings: one YAML file plus environment overrides.

Secrets never live in the file: components read them from the environment by name (for example the
Kakao secret header value from `SANGDAM_KAKAO_SECRET`). Overrides:

    SANGDAM_BOT, SANGDAM_STORE_URL, SANGDAM_RETENTION_S, SANGDAM_LOG_LEVEL, SANGDAM_HOST, SANGDAM_PORT
    SANGDAM_CHANNELS=kakao,web            enables exactly these channels
    SANGDAM__a__b=value                   any nested key (value parsed as a YAML scalar), e.g.
                                          SANGDAM__channels__kakao__budget_s=3.5
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import yaml

DEMO_BOT = str(Path(__file__).resolve().parent.parent / "bots" / "demo")


class SettingsError(ValueError):
    pass


class ServerSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: int = 8080


class HandoffSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    sinks: list[str] = msgspec.field(default_factory=lambda: ["log", "store"])  # "log", "store", "webhook"
    webhook_url: str | None = None  # POSTed the Handoff packet as JSON when "webhook" is a sink


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    bot: str = DEMO_BOT  # bot pack folder
    store_url: str | None = None  # None = in-memory; redis://host:6379/0 for Redis
    retention_s: float = 30 * 86400  # conversation TTL
    log_level: str = "INFO"
    log_json: bool = True
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    # Per-channel config; each adapter parses its own section. `enabled: false` turns one off.
    channels: dict[str, dict[str, Any]] = msgspec.field(
        default_factory=lambda: {"kakao": {"enabled": True}, "web": {"enabled": True}}
    )
    handoff: HandoffSettings = msgspec.field(default_factory=HandoffSettings)
    brain: dict[str, Any] = {}  # LLM brain config (off unless an API key or base_url is given)

    def enabled_channels(self) -> list[str]:
        return [name for name, cfg in self.channels.items() if cfg.get("enabled", True)]


_FLAT_ENV = {
    "SANGDAM_BOT": ("bot",),
    "SANGDAM_STORE_URL": ("store_url",),
    "SANGDAM_RETENTION_S": ("retention_s",),
    "SANGDAM_LOG_LEVEL": ("log_level",),
    "SANGDAM_HOST": ("server", "host"),
    "SANGDAM_PORT": ("server", "port"),
}


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
            _set_nested(raw, keys, yaml.safe_load(env[var]) if keys[-1] != "bot" else env[var])
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
