"""Settings: YAML file plus environment overrides, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import DEMO_BOT, SettingsError, load_settings


def test_embedded_defaults_need_no_file_and_no_env() -> None:
    settings = load_settings(None, {})
    assert settings.bot == DEMO_BOT and Path(settings.bot, "bot.yaml").is_file()
    assert settings.store_url is None  # in-memory
    assert settings.enabled_channels() == ["kakao", "web"]


def test_file_then_environment_overrides(tmp_path: Path) -> None:
    file = tmp_path / "sangdam.yaml"
    file.write_text(
        "store_url: redis://localhost:6379/0\nserver: {port: 9000}\nchannels:\n  kakao: {budget_s: 3.0}\n",
        encoding="utf-8",
    )
    env = {
        "SANGDAM_PORT": "9100",
        "SANGDAM_CHANNELS": "kakao,web",
        "SANGDAM__channels__kakao__budget_s": "3.5",
        "SANGDAM_LOG_LEVEL": "DEBUG",
    }
    settings = load_settings(file, env)
    assert settings.store_url == "redis://localhost:6379/0"
    assert settings.server.port == 9100
    assert settings.channels["kakao"]["budget_s"] == 3.5
    assert sorted(settings.enabled_channels()) == ["kakao", "web"]
    assert settings.log_level == "DEBUG"


def test_channels_env_disables_the_others() -> None:
    settings = load_settings(None, {"SANGDAM_CHANNELS": "web"})
    assert settings.enabled_channels() == ["web"]
    assert settings.channels["kakao"]["enabled"] is False


@pytest.mark.parametrize(
    ("text", "needle"),
    [("server: {prot: 1}\n", "prot"), ("retention_s: soon\n", "retention_s"), ("- a\n- b\n", "mapping")],
)
def test_bad_settings_say_what_is_wrong(tmp_path: Path, text: str, needle: str) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match=needle):
        load_settings(file, {})
