"""A small OpenAI-compatible HTTP server for the brain tests (real HTTP on loopback, aiohttp).

Serves POST /v1/chat/completions as JSON or as SSE chunks (`stream: true`) from a script of steps.
A step is a `Reply` (content and/or tool calls, optional latency, HTTP status for failures) or a
function of the request body returning one, so a step can answer from what the client actually sent
(for example echo a tool result). Every request body is recorded for assertions.

Usage is computed the way a provider would report it: prompt tokens ~ characters / 4, and
`prompt_tokens_details.cached_tokens` from the longest common message prefix with the previous request
(how providers' automatic prompt caching behaves), so cost controls can be observed end to end.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Reply:
    content: str | None = None
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    raw_arguments: list[str] | None = None  # override the JSON arguments text per tool call
    status: int = 200  # non-200: an OpenAI-style error body with this status
    delay_s: float = 0.0  # before the response starts
    chunk_chars: int = 8  # streaming: characters of content per chunk
    chunk_delay_s: float = 0.0  # streaming: pause between chunks


Step = Reply | Callable[[dict[str, Any]], Reply]


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


class OpenAIStandIn:
    def __init__(self) -> None:
        self.script: list[Step] = []
        self.requests: list[dict[str, Any]] = []
        self.raw_bodies: list[str] = []
        self.stream_chunk_sent_at: list[float] = []
        self._previous_messages: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def add(self, *steps: Step) -> None:
        self.script.extend(steps)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        # Cancel a handler when its client hangs up (as after a client timeout), so stop() is quick.
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))  # the OS picks a free port; no race with other tests
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- handler -----------------------------------------------------------------------------------

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        raw = await request.text()
        body = json.loads(raw)
        self.raw_bodies.append(raw)
        self.requests.append(body)
        if not self.script:
            return _error(500, "stand-in script exhausted")
        step = self.script.pop(0)
        reply = step(body) if callable(step) else step
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.status != 200:
            return _error(reply.status, "scripted failure")
        usage = self._usage(body, reply)
        if body.get("stream"):
            return await self._stream(request, body, reply, usage)
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": args}}
                for i, (n, args) in enumerate(_arguments(reply))
            ]
        return web.json_response(
            {
                "id": "chatcmpl-standin",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                    }
                ],
                "usage": usage,
            }
        )

    def _usage(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        messages = body["messages"]
        prompt = _tokens(json.dumps(messages, ensure_ascii=False) + json.dumps(body.get("tools", [])))
        shared = 0
        for old, new in zip(self._previous_messages, messages, strict=False):
            if old != new:
                break
            shared += 1
        self._previous_messages = messages
        cached = _tokens(json.dumps(messages[:shared], ensure_ascii=False)) if shared else 0
        completion = _tokens((reply.content or "") + json.dumps(reply.tool_calls, ensure_ascii=False))
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": min(cached, prompt)},
        }

    async def _stream(
        self, request: web.Request, body: dict[str, Any], reply: Reply, usage: dict[str, Any]
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)

        async def send(choices: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> None:
            chunk = {
                "id": "chatcmpl-standin",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": body["model"],
                "choices": choices,
                **(extra or {}),
            }
            await response.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            self.stream_chunk_sent_at.append(time.perf_counter())
            if reply.chunk_delay_s:
                await asyncio.sleep(reply.chunk_delay_s)

        await send([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        content = reply.content or ""
        for start in range(0, len(content), reply.chunk_chars):
            piece = content[start : start + reply.chunk_chars]
            await send([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
        for i, (name, args) in enumerate(_arguments(reply)):
            head = {
                "index": i,
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
            await send([{"index": 0, "delta": {"tool_calls": [head]}, "finish_reason": None}])
            for start in range(0, len(args), 5):  # arguments arrive in fragments, as from real servers
                frag = {"index": i, "function": {"arguments": args[start : start + 5]}}
                await send([{"index": 0, "delta": {"tool_calls": [frag]}, "finish_reason": None}])
        finish = "tool_calls" if reply.tool_calls else "stop"
        await send([{"index": 0, "delta": {}, "finish_reason": finish}])
        if (body.get("stream_options") or {}).get("include_usage"):
            await send([], {"usage": usage})
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _arguments(reply: Reply) -> list[tuple[str, str]]:
    raws = reply.raw_arguments or [json.dumps(args, ensure_ascii=False) for _, args in reply.tool_calls]
    return [(name, raw) for (name, _), raw in zip(reply.tool_calls, raws, strict=True)]


def _error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "server_error", "param": None, "code": None}}, status=status
    )
