"""Brain settings (the `brain:` section of the gateway settings) and the on/off decision.

The brain is off unless an API key or a base URL is configured: with neither, `load_brain_config`
returns None and the local engine serves alone (the embedded default). Secrets come only from the
environment; the settings file may name the variable (`api_key_env`) but never hold the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

DEFAULT_KEY_VARS = ("SANGDAM_LLM_API_KEY", "OPENAI_API_KEY")
BASE_URL_VAR = "SANGDAM_LLM_BASE_URL"
MODEL_VAR = "SANGDAM_LLM_MODEL"
# Local OpenAI-compatible servers (vLLM, Ollama, LM Studio, llama.cpp) accept any key; the SDK insists
# on one, so a placeholder is sent when only a base URL is configured.
LOCAL_SERVER_KEY = "sk-no-key-required"

StructuredOutput = Literal["json_schema", "json_object", "prompt"]


class BrainConfigError(ValueError):
    pass


class BrainConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    enabled: bool = True  # false forces the brain off even when a key is present
    base_url: str | None = None  # None = api.openai.com
    # Name of the env var holding the key; default SANGDAM_LLM_API_KEY, then OPENAI_API_KEY.
    api_key_env: str | None = None
    model: str = "gpt-4o-mini"  # the cheap default model
    strong_model: str | None = None  # used for long questions and the format retry when set
    strong_min_chars: int = 200  # questions at least this long go to strong_model
    summary_model: str | None = None  # None = model
    timeout_s: float = 20.0  # per HTTP request to the model
    max_retries: int = 1  # SDK retries of one request (connection errors, 408/409/429/5xx)
    # The whole turn, tool loop included. Keep it below the store's conversation-lock wait (memory
    # store 30 s, Redis lease 60 s): a turn must end before another worker may take the conversation.
    turn_timeout_s: float = 25.0
    max_tool_steps: int = 4  # model calls that may request tools in one turn
    window_turns: int = 6  # recent customer turns sent verbatim
    summary_after_turns: int = 10  # customer turns kept before older ones are folded into the summary
    summarize_with_model: bool = True  # false = a plain extract of older turns instead of a model summary
    cache_ttl_s: float = 86400.0  # duplicate-question cache lifetime; 0 turns it off
    cache_similarity: float = 0.8  # character-bigram Jaccard for near-duplicates (1.0 = exact only)
    stream: bool = True  # stream reply text to channels that pass a sink
    structured_output: StructuredOutput = "json_schema"  # json_object/prompt for servers without schemas
    temperature: float | None = 0.2
    max_completion_tokens: int = 700  # sent as max_tokens to servers other than api.openai.com
    max_conversation_tokens: int = 0  # total tokens one conversation may spend; 0 = no cap
    max_reply_chars: int = 700  # longer replies fail validation (the prompt says 3 sentences)
    knowledge_hits: int = 3  # knowledge entries put in the turn context
    restore_pii: list[str] = msgspec.field(default_factory=lambda: ["PHONE", "EMAIL"])
    prompt_cache_key: bool | None = None  # send OpenAI's prompt_cache_key; None = only for api.openai.com
    brain_file: str = "brain.yaml"  # persona/rules file inside the bot pack

    def __post_init__(self) -> None:
        if self.max_tool_steps < 1:
            raise BrainConfigError("brain.max_tool_steps must be at least 1")
        if self.window_turns < 1 or self.summary_after_turns < self.window_turns:
            raise BrainConfigError("brain.window_turns must be >= 1 and <= brain.summary_after_turns")
        if self.timeout_s <= 0 or self.turn_timeout_s <= 0:
            raise BrainConfigError("brain.timeout_s and brain.turn_timeout_s must be positive")
        if self.max_conversation_tokens < 0:
            raise BrainConfigError("brain.max_conversation_tokens must be 0 (no cap) or positive")
        if not 0 < self.cache_similarity <= 1:
            raise BrainConfigError("brain.cache_similarity must be in (0, 1]")

    def model_for(self, text: str, *, retry: bool = False) -> str:
        """Cheap/strong routing: the strong model (when set) for long questions and format retries."""
        if self.strong_model and (retry or len(text) >= self.strong_min_chars):
            return self.strong_model
        return self.model


class Connection(msgspec.Struct, frozen=True, kw_only=True):
    api_key: str
    base_url: str | None


def load_brain_config(raw: Mapping[str, Any], env: Mapping[str, str]) -> tuple[BrainConfig, Connection] | None:
    """Validated config and connection, or None when the brain is off (no key and no base URL)."""
    data = dict(raw)
    if env.get(BASE_URL_VAR) and not data.get("base_url"):
        data["base_url"] = env[BASE_URL_VAR]
    if env.get(MODEL_VAR) and not data.get("model"):
        data["model"] = env[MODEL_VAR]
    try:
        config = msgspec.convert(data, BrainConfig, strict=False)
    except (msgspec.ValidationError, BrainConfigError) as exc:
        raise BrainConfigError(f"invalid brain settings: {exc}") from exc
    if not config.enabled:
        return None
    key_vars = (config.api_key_env,) if config.api_key_env else DEFAULT_KEY_VARS
    api_key = next((env[name] for name in key_vars if env.get(name)), None)
    if api_key is None and not config.base_url:
        return None
    return config, Connection(api_key=api_key or LOCAL_SERVER_KEY, base_url=config.base_url)
