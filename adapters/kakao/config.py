"""Settings of the Kakao skill channel: the `channels.kakao` section of the gateway settings.

Every field has a working default, so `channels: {kakao: {enabled: true}}` is a complete section.
The secret header's *value* never lives here: `secret_env` names the environment variable holding it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from core.settings import SettingsError

FAST_REPLY_TIMEOUT_S = 0.3  # cap on engine.fast_reply; it runs after budget_s, inside Kakao's 5 s
# Whatever the store or the engine does, a request is answered by budget_s + FAST_REPLY_TIMEOUT_S + this.
DEADLINE_MARGIN_S = 0.1
BUDGET_MAX_S = 4.5  # budget_s + the fast reply must stay well inside Kakao's 5 s


class KakaoConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    enabled: bool = True
    path: str = "/kakao/skill"  # skill URL path registered in the Kakao admin centre
    # Kakao does not sign skill requests; the admin centre can send a custom header instead.
    secret_header: str = "X-Sangdam-Secret"
    secret_env: str = "SANGDAM_KAKAO_SECRET"  # env var holding the header's value; unset = no check
    allowed_bot_ids: list[str] = []  # optional allow-list of payload bot.id values; empty = any

    # Kakao gives a skill 5 s; ≈4 s of our own time leaves room for the network and tunnels.
    # At most BUDGET_MAX_S: without a callbackUrl the fast reply may still take up to 0.3 s after it.
    budget_s: float = 4.0
    # The POST to callbackUrl must leave by this many seconds after receipt (the URL expires at 60 s).
    callback_deadline_s: float = 50.0
    # Wait this long after the ack has been sent before POSTing, so Kakao has registered the ack.
    callback_settle_s: float = 1.0
    callback_timeout_s: float = 8.0  # one POST's timeout (capped by what is left of the window)
    # "*.x" = x and any subdomain of x
    callback_allow_hosts: list[str] = msgspec.field(default_factory=lambda: ["*.kakao.com"])
    callback_require_https: bool = True  # tests set False to use a loopback http stand-in

    late_answer_ttl_s: float = 3600.0  # a stashed late answer is served on the next message within this
    max_body_bytes: int = 256 * 1024
    # Longer utterances never reach the engine or the store (Kakao's own input box takes about 1,000).
    max_utterance_chars: int = 1000
    # Engine turns running at once (inline or finishing as jobs); beyond it a request gets `busy_text` at
    # once, so an overload or a frozen store cannot queue work without bound.
    max_inflight_turns: int = 256

    # Customer-facing texts (Korean, 해요체).
    waiting_text: str = "답변을 준비하고 있어요. 잠시만 기다려 주세요!"
    late_apology_text: str = (
        "답변을 준비하는 데 시간이 조금 더 걸리고 있어요. 죄송해요! "
        "잠시 후 아래 '답변 확인하기'를 눌러 주시면 바로 알려 드릴게요."
    )
    pending_text: str = "답변을 아직 준비하고 있어요. 잠시 후 '답변 확인하기'를 다시 눌러 주세요."
    no_late_answer_text: str = "지금 전해 드릴 답변은 없어요. 궁금한 점을 편하게 다시 말씀해 주세요."
    late_intro_text: str = "기다려 주셔서 감사해요. 앞서 문의하신 내용에 대한 답변이에요."
    late_answer_label: str = "답변 확인하기"
    error_text: str = "죄송해요, 잠시 문제가 생겼어요. 잠시 후 다시 말씀해 주세요."
    operator_label: str = "상담직원 연결"
    # {max_chars} is replaced by max_utterance_chars, written with a thousands separator.
    too_long_text: str = "메시지가 너무 길어요. {max_chars}자 이내로 나누어 보내 주세요."
    busy_text: str = "지금 문의가 많아 답변이 늦어지고 있어요. 죄송해요, 잠시 후 다시 말씀해 주세요."
    # Sent when a person (e.g. a Slack agent) owns the conversation and the bot stays silent; the
    # agent's replies are shown on the customer's next message.
    agent_owned_text: str = "상담직원에게 전달했어요. 답변이 오면 다음 메시지에서 보여 드릴게요."

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"path must start with '/', got {self.path!r}")
        if not 0 < self.budget_s <= BUDGET_MAX_S:
            raise ValueError(
                f"budget_s must be above 0 and at most {BUDGET_MAX_S} (Kakao's 5 s timeout minus the fast "
                f"reply's {FAST_REPLY_TIMEOUT_S} s and network headroom), got {self.budget_s}"
            )
        if not self.budget_s < self.callback_deadline_s < 60:
            raise ValueError(
                "callback_deadline_s must be above budget_s and below 60 (the callback URL's lifetime), "
                f"got {self.callback_deadline_s}"
            )
        if self.callback_settle_s < 0 or self.callback_timeout_s <= 0:
            raise ValueError("callback_settle_s must be >= 0 and callback_timeout_s > 0")
        if self.callback_deadline_s < self.budget_s + self.callback_settle_s + 0.3:
            raise ValueError(
                "callback_deadline_s must leave time after the ack: at least budget_s + callback_settle_s + 0.3"
            )
        if self.max_utterance_chars < 1 or self.max_inflight_turns < 1:
            raise ValueError("max_utterance_chars and max_inflight_turns must be >= 1")
        if not self.secret_header.strip():
            raise ValueError("secret_header must name an HTTP header")

    def secret(self, env: Mapping[str, str]) -> str | None:
        """The configured secret header value, or None when the env var is unset or empty."""
        value = env.get(self.secret_env, "")
        return value or None

    def too_long_reply(self) -> str:
        return self.too_long_text.replace("{max_chars}", f"{self.max_utterance_chars:,}")


def parse_config(section: Mapping[str, Any]) -> KakaoConfig:
    """Validate the `channels.kakao` section; errors name the offending key."""
    try:
        return msgspec.convert(dict(section), KakaoConfig, strict=False)
    except (msgspec.ValidationError, ValueError) as exc:
        raise SettingsError(f"invalid channels.kakao settings: {exc}") from exc
