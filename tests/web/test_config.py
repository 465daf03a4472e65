"""channels.web settings: defaults work, mistakes are reported by name, the secret comes from the env."""

from __future__ import annotations

import pytest

from adapters.web.config import parse_config
from adapters.web.token import TokenError, TokenSigner
from core.settings import SettingsError


def test_defaults_are_a_complete_section() -> None:
    config = parse_config({"enabled": True})
    assert config.api_path == "/web/api" and config.demo_page and config.allowed_origins == []


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"api_path": "web/api"}, "api_path must start with '/'"),
        ({"allowed_origins": ["shop.example.com"]}, "allowed_origins entries"),
        ({"rate_limit": 0}, "must be >= 1"),
        ({"poll_s": 0}, "poll_s must be positive"),
        ({"rate_limt": 5}, "rate_limt"),  # a typo is named, not ignored
    ],
)
def test_mistakes_are_named(section: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=r"channels\.web") as info:
        parse_config(section)
    assert message in str(info.value)


def test_secret_from_env_or_a_random_dev_secret() -> None:
    config = parse_config({})
    secret, from_env = config.secret({"SANGDAM_WEB_SECRET": "s" * 40})
    assert secret == b"s" * 40 and from_env
    dev1, from_env1 = config.secret({})
    dev2, _ = config.secret({})
    assert not from_env1 and len(dev1) == 32 and dev1 != dev2
    with pytest.raises(SettingsError, match="at least 32"):
        config.secret({"SANGDAM_WEB_SECRET": "short"})


def test_a_dev_secret_token_dies_with_the_process() -> None:
    config = parse_config({})
    before = TokenSigner(config.secret({})[0], 3600)
    after_restart = TokenSigner(config.secret({})[0], 3600)
    token, session = before.issue(before.new_session_id())
    assert before.verify(token) == session
    with pytest.raises(TokenError, match="signature"):
        after_restart.verify(token)
