"""Settings of the Slack channel: the `channels.slack` section of the gateway settings.

Tokens and the signing secret never live here: `*_env` fields name the environment variables that hold
them. `channels: {slack: {enabled: true, agents_channel: C0123}}` plus SLACK_BOT_TOKEN and
SLACK_SIGNING_SECRET in the environment is a complete HTTP-mode setup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from core.settings import SettingsError


class SlackConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    enabled: bool = True
    mode: Literal["http", "socket"] = "http"  # socket: Socket Mode (no public URL; needs an app token)
    path: str = "/slack/events"  # Request URL for events and interactivity (HTTP mode)
    bot_token_env: str = "SLACK_BOT_TOKEN"  # xoxb-…
    signing_secret_env: str = "SLACK_SIGNING_SECRET"  # required in HTTP mode
    app_token_env: str = "SLACK_APP_TOKEN"  # xapp-…, required in Socket Mode
    api_base_url: str | None = None  # Slack Web API base (tests point it at a stand-in); None = Slack's

    # Pilot: the bot answers mentions and DMs everywhere, and every message in these channels (ids).
    pilot_channels: list[str] = []
    answer_dms: bool = True
    # Agents' console: handoffs from every channel are posted here (channel id); None = no console.
    agents_channel: str | None = None
    handoff_timeout_s: float = 600.0  # an unclaimed handoff becomes a ticket after this long
    ticket_tool: str = "create_ticket"  # the bot pack's tool that opens the timeout ticket

    # chat.postMessage allows about one message per second per channel, with short bursts.
    post_rate_per_s: float = 1.0
    post_burst: int = 3
    max_rate_limit_retries: int = 3  # 429 answers honoured (Retry-After) before a post is given up
    dedupe_ttl_s: float = 3600.0  # Slack retries for up to ~5 minutes; keep event ids longer than that
    drain_s: float = 5.0  # on shutdown, running turns get this long to finish
    max_body_bytes: int = 1024 * 1024

    # Texts. Customer-facing ones are Korean (해요체); staff-facing ones are Korean too (the console is
    # for a Korean support team).
    error_text: str = "죄송해요, 잠시 문제가 생겼어요. 잠시 후 다시 말씀해 주세요."
    handoff_request_text: str = "상담직원 연결해 주세요"  # what a pressed handoff button says
    agent_joined_text: str = "상담직원이 연결되었어요. 지금부터 상담직원이 직접 도와드릴게요."
    resolved_text: str = "상담직원과의 상담이 끝났어요. 더 궁금한 점이 있으면 언제든 말씀해 주세요."
    ticket_text: str = (
        "지금은 상담직원 연결이 어려워 문의를 접수해 두었어요. 접수번호는 {ticket_id}이고, 순서대로 연락드릴게요."
    )
    kakao_note: str = (
        "카카오톡 고객은 상담직원 연결 버튼으로 카카오톡 1:1 채팅으로 안내되었어요. "
        "답변은 카카오 비즈니스 파트너센터의 1:1 채팅에서 해 주세요."
    )
    # Shown in the handoff thread when an agent's reply could not be pushed to the customer right now.
    undelivered_notes: dict[str, str] = msgspec.field(
        default_factory=lambda: {
            "web": "고객이 지금 채팅창을 열어 두지 않았어요. 메시지는 보관되었다가 다시 접속하면 보여요.",
            "kakao": "카카오톡 고객에게는 바로 보낼 수 없어요. 고객이 다음 메시지를 보낼 때 함께 전달돼요.",
            "whatsapp": "WhatsApp 24시간 응답 가능 시간이 지나 보낼 수 없어요. 승인된 템플릿으로 연락해 주세요.",
        }
    )
    undelivered_default: str = "고객에게 지금 바로 전달하지 못했어요."

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"path must start with '/', got {self.path!r}")
        if self.handoff_timeout_s <= 0:
            raise ValueError("handoff_timeout_s must be above 0")
        if self.post_rate_per_s <= 0 or self.post_burst < 1:
            raise ValueError("post_rate_per_s must be above 0 and post_burst at least 1")
        if self.agents_channel is not None and self.agents_channel in self.pilot_channels:
            raise ValueError("agents_channel must not also be a pilot channel")
        if self.api_base_url is not None and not self.api_base_url.endswith("/"):
            self.api_base_url += "/"  # slack_sdk joins method names onto it


@dataclass(frozen=True, slots=True)
class SlackSecrets:
    bot_token: str
    signing_secret: str | None
    app_token: str | None


def parse_config(section: Mapping[str, Any]) -> SlackConfig:
    """Validate the `channels.slack` section; errors name the offending key."""
    try:
        return msgspec.convert(dict(section), SlackConfig, strict=False)
    except (msgspec.ValidationError, ValueError) as exc:
        raise SettingsError(f"invalid channels.slack settings: {exc}") from exc


def read_secrets(config: SlackConfig, env: Mapping[str, str]) -> SlackSecrets:
    """The tokens the mode needs, from the environment; a clear error names a missing variable."""
    bot_token = env.get(config.bot_token_env, "")
    if not bot_token:
        raise SettingsError(f"channels.slack: set {config.bot_token_env} to the bot token (xoxb-…)")
    signing_secret = env.get(config.signing_secret_env, "") or None
    app_token = env.get(config.app_token_env, "") or None
    if config.mode == "http" and signing_secret is None:
        raise SettingsError(
            f"channels.slack: set {config.signing_secret_env} to the app's signing secret (HTTP mode verifies "
            "every request with it)"
        )
    if config.mode == "socket" and app_token is None:
        raise SettingsError(f"channels.slack: set {config.app_token_env} to an app-level token (xapp-…)")
    return SlackSecrets(bot_token=bot_token, signing_secret=signing_secret, app_token=app_token)
