"""The model client: one chat-completions call over the official `openai` SDK, streamed or not.

Any OpenAI-compatible server works (OpenAI, vLLM, Ollama, LM Studio, llama.cpp server): only
`/chat/completions` is used, tool-call deltas are accumulated by hand and usage is read when the server
sends it. Every SDK/HTTP failure surfaces as one exception type, `ModelUnavailable`.

The output cap goes out as `max_completion_tokens` to OpenAI and as `max_tokens` elsewhere: OpenAI
deprecated `max_tokens` (its reasoning models reject it), while local servers (llama.cpp, Ollama, older
vLLM) read only `max_tokens` and silently ignore the newer name.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
import openai

from core.brain.config import BrainConfig, Connection
from core.brain.stream import TextSink

OutputCapParam = Literal["max_completion_tokens", "max_tokens"]


class ModelUnavailable(Exception):
    """The model could not be reached or answered with an error (after the SDK's retries)."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"model unavailable ({kind})")
        self.kind = kind  # the exception class name; safe to log (no request content)


@dataclass(slots=True)
class ToolCallRequest:
    id: str
    name: str
    arguments: str  # raw JSON text as the model wrote it


class Usage(msgspec.Struct, kw_only=True):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_prompt_tokens: int = 0  # provider-side prompt cache hits

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.total_tokens += other.total_tokens
        self.cached_prompt_tokens += other.cached_prompt_tokens


@dataclass(slots=True)
class Completion:
    content: str | None
    tool_calls: list[ToolCallRequest]
    usage: Usage
    refusal: str | None = None


@dataclass(slots=True)
class ClientStats:
    """Time spent waiting for the model; the bench subtracts it to get the brain's own overhead."""

    calls: int = 0
    seconds: float = 0.0


@dataclass(slots=True)
class _ToolCallBuffer:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


def is_openai(base_url: str | None) -> bool:
    return base_url is None or "api.openai.com" in base_url


def make_openai_client(config: BrainConfig, connection: Connection) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key=connection.api_key,
        base_url=connection.base_url,
        timeout=config.timeout_s,
        max_retries=config.max_retries,
    )


class ModelClient:
    def __init__(
        self, sdk: openai.AsyncOpenAI, *, send_prompt_cache_key: bool, output_cap_param: OutputCapParam
    ) -> None:
        self._sdk = sdk
        self._send_prompt_cache_key = send_prompt_cache_key
        self._output_cap_param = output_cap_param
        self.stats = ClientStats()

    async def complete(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | None = None,
        response_format: dict[str, Any] | None = None,
        temperature: float | None = None,
        max_output_tokens: int | None = None,
        prompt_cache_key: str | None = None,
        on_content: TextSink | None = None,
    ) -> Completion:
        """One model call. With `on_content` the response is streamed and raw content deltas go there."""
        params: dict[str, Any] = {"model": model, "messages": messages}
        if tools:
            params["tools"] = tools
            # Strict schemas hold only for one call at a time.
            params["parallel_tool_calls"] = False
            if tool_choice:
                params["tool_choice"] = tool_choice
        if response_format:
            params["response_format"] = response_format
        if temperature is not None:
            params["temperature"] = temperature
        if max_output_tokens:
            params[self._output_cap_param] = max_output_tokens
        if prompt_cache_key and self._send_prompt_cache_key:
            params["prompt_cache_key"] = prompt_cache_key
        started = time.perf_counter()
        try:
            if on_content is None:
                return _from_response(await self._sdk.chat.completions.create(**params))
            return await self._stream(params, on_content)
        except openai.OpenAIError as exc:
            raise ModelUnavailable(type(exc).__name__) from exc
        finally:
            self.stats.calls += 1
            self.stats.seconds += time.perf_counter() - started

    async def _stream(self, params: dict[str, Any], on_content: TextSink) -> Completion:
        stream = await self._sdk.chat.completions.create(**params, stream=True, stream_options={"include_usage": True})
        content: list[str] = []
        refusal: list[str] = []
        calls: dict[int, _ToolCallBuffer] = {}
        usage = Usage()
        async with stream:
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = _usage(chunk.usage)
                for choice in chunk.choices[:1]:
                    delta = choice.delta
                    if delta.content:
                        content.append(delta.content)
                        await on_content(delta.content)
                    if getattr(delta, "refusal", None):
                        refusal.append(delta.refusal or "")
                    for tc in delta.tool_calls or []:
                        buf = calls.setdefault(tc.index, _ToolCallBuffer())
                        buf.id = tc.id or buf.id
                        if tc.function is not None:
                            buf.name = tc.function.name or buf.name
                            buf.arguments.append(tc.function.arguments or "")
        return Completion(
            content="".join(content) if content else None,
            tool_calls=[
                ToolCallRequest(id=b.id or f"call_{i}", name=b.name, arguments="".join(b.arguments))
                for i, b in sorted(calls.items())
            ],
            usage=usage,
            refusal="".join(refusal) or None,
        )


def _from_response(response: Any) -> Completion:
    if not response.choices:
        raise ModelUnavailable("EmptyResponse")
    message = response.choices[0].message
    return Completion(
        content=message.content,
        tool_calls=[
            ToolCallRequest(id=tc.id, name=tc.function.name, arguments=tc.function.arguments or "")
            for tc in message.tool_calls or []
            if getattr(tc, "function", None) is not None
        ],
        usage=_usage(response.usage),
        refusal=getattr(message, "refusal", None),
    )


def _usage(raw: Any) -> Usage:
    if raw is None:
        return Usage()
    details = getattr(raw, "prompt_tokens_details", None)
    return Usage(
        prompt_tokens=raw.prompt_tokens or 0,
        completion_tokens=raw.completion_tokens or 0,
        total_tokens=raw.total_tokens or 0,
        cached_prompt_tokens=(getattr(details, "cached_tokens", None) or 0) if details else 0,
    )
