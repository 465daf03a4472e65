"""Company API connectors declared in tools.yaml with an `http:` section.

Arguments named in the URL template ({order_id}) are URL-encoded into the path; the rest go in the query
string (GET, DELETE) or a JSON body. The auth header's secret comes from the environment at call time.
Transient failures (network errors, timeouts, 5xx, 429) are retried with a short backoff within the tool's
time budget (`timeout_s` of the tool; each attempt is limited by `http.timeout_s`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from core.jsondepth import too_deep
from core.pack.schema import HttpTool, ToolSpec
from core.tools.registry import Tool, ToolError, ToolErrorKind

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def _retryable_status(status: int) -> bool:
    return status >= 500 or status == 429


def http_tool(
    spec: ToolSpec,
    client: httpx.AsyncClient,
    env: Mapping[str, str],
    *,
    backoff_s: float = 0.1,
) -> Tool:
    if spec.http is None:
        raise ValueError(f"tool {spec.name!r} has no http section")
    conf = spec.http
    if conf.auth_header and not conf.auth_env:
        raise ValueError(f"tool {spec.name!r}: auth_header needs auth_env (the secret comes from the environment)")
    path_args = set(_PLACEHOLDER.findall(conf.url))

    async def call(args: dict[str, Any]) -> dict[str, Any]:
        url = _fill_url(spec.name, conf.url, args)
        rest = {k: v for k, v in args.items() if k not in path_args and v is not None}
        body: dict[str, Any] = {"params": rest} if conf.method in ("GET", "DELETE") else {"json": rest}
        headers = _auth_headers(spec.name, conf, env)
        response = await _send(spec.name, conf, client, url, headers, body, backoff_s)
        return _result(spec.name, conf, response)

    return Tool(
        name=spec.name,
        description=spec.description,
        input_schema=spec.input_schema,
        func=call,
        timeout_s=spec.timeout_s,
    )


def _fill_url(tool: str, template: str, args: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if args.get(name) is None:
            raise ToolError(tool, "invalid_args", f"tool {tool!r}: URL argument {name!r} missing")
        return quote(str(args[name]), safe="")

    return _PLACEHOLDER.sub(value, template)


def _auth_headers(tool: str, conf: HttpTool, env: Mapping[str, str]) -> dict[str, str]:
    if not conf.auth_env:
        return {}
    secret = env.get(conf.auth_env)
    if not secret:
        # names the variable, never a value
        raise ToolError(tool, "failed", f"tool {tool!r}: environment variable {conf.auth_env} is not set")
    return {conf.auth_header or "Authorization": conf.auth_prefix + secret}


async def _send(
    tool: str,
    conf: HttpTool,
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    backoff_s: float,
) -> httpx.Response:
    # Messages quote the URL template, not the filled URL: arguments may be personal data.
    where = f"{conf.method} {conf.url}"
    last_error: Exception | None = None
    response: httpx.Response | None = None
    for attempt in range(conf.retries + 1):
        if attempt:
            await asyncio.sleep(backoff_s * 2 ** (attempt - 1))
        try:
            response = await client.request(conf.method, url, headers=headers, timeout=conf.timeout_s, **body)
        except _RETRYABLE_ERRORS as exc:
            last_error, response = exc, None
            continue
        except httpx.HTTPError as exc:
            raise ToolError(tool, "failed", f"tool {tool!r}: {where} failed ({type(exc).__name__})") from exc
        if not _retryable_status(response.status_code):
            break
    tries = conf.retries + 1
    if response is None:
        kind: ToolErrorKind = "timeout" if isinstance(last_error, httpx.TimeoutException) else "failed"
        raise ToolError(
            tool, kind, f"tool {tool!r}: {where} failed after {tries} tries ({type(last_error).__name__})"
        ) from last_error
    if not response.is_success:
        raise ToolError(tool, "failed", f"tool {tool!r}: {where} answered HTTP {response.status_code}")
    return response


def _result(tool: str, conf: HttpTool, response: httpx.Response) -> dict[str, Any]:
    if not response.content.strip():
        return {}
    try:
        if too_deep(response.content):
            raise ValueError("nested too deep")
        data = response.json()
    except ValueError as exc:
        raise ToolError(tool, "failed", f"tool {tool!r}: {conf.method} {conf.url} did not answer JSON") from exc
    return data if isinstance(data, dict) else {"result": data}
