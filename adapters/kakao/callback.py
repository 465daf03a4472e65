"""Delivery of a final SkillResponse to Kakao's one-time `callbackUrl`.

Rules (docs/kakao.md §4): POST only to an allow-listed host; a URL is used at most once, across
processes (claimed in the store before sending); only a failure to *connect* (nothing sent) is retried,
inside the window; redirects are not followed; the CallbackResponse body's `status` decides success,
not the HTTP status, and its `taskId` is logged because Kakao support asks for it.
"""

from __future__ import annotations

import asyncio
import hashlib
import string
import time
from collections.abc import Callable
from typing import Literal

import httpx
import msgspec
import structlog

from adapters.kakao.response import ResponseDecodeError, decode_callback_response
from core.metrics import Metrics
from core.store.base import Store

_log = structlog.get_logger(__name__)

URL_LIFETIME_S = 60.0  # Kakao: "callbackUrl valid time: 1min"
_CONNECT_RETRY_PAUSE_S = 0.2

OutcomeStatus = Literal[
    "SUCCESS",  # Kakao accepted the response
    "FAIL",  # Kakao answered FAIL (e.g. expired or invalid token)
    "ERROR",  # Kakao answered ERROR (its internal error)
    "refused",  # URL not allowed (scheme, host, port, userinfo): nothing sent
    "used",  # URL already used (by this or another process): nothing sent
    "expired",  # the sending deadline passed: nothing sent
    "unreachable",  # could not connect before the deadline: nothing sent
    "unanswered",  # request sent but no usable answer (timeout, dropped connection)
    "bad_answer",  # Kakao answered, but not with a CallbackResponse
]


class CallbackOutcome(msgspec.Struct, frozen=True, kw_only=True):
    status: OutcomeStatus | str  # Kakao may add body statuses; they are kept as sent
    http_status: int | None = None
    task_id: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS"

    @property
    def sent(self) -> bool:
        """True when the POST left this process (so the URL must be considered spent)."""
        return self.status not in ("refused", "used", "expired", "unreachable")


def url_fingerprint(url: str) -> str:
    """Short stable id of a callback URL: used as store key and idempotency key (the URL holds a token)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


def _host_allowed(host: str, patterns: list[str]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.lower().strip()
        if pattern.startswith("*."):
            base = pattern[2:]
            if host == base or host.endswith("." + base):
                return True
        elif host == pattern:
            return True
    return False


# RFC 3986's characters: anything else (controls, whitespace, backslash, quotes, non-ASCII) is refused.
_URL_CHARS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")
_HOST_CHARS = frozenset(string.ascii_lowercase + string.digits + "-.")


def parse_callback_url(url: str, *, allow_hosts: list[str], require_https: bool) -> httpx.URL | str:
    """The URL as httpx will send it, or why it must not be POSTed to (SSRF guard).

    Checked with the parser that sends it (httpx.URL), and only when its text is already in the form
    that parser produces, so that what was checked is what is sent: no control characters, whitespace or
    non-ASCII (IDNA and full-width hosts normalise to something else), no userinfo, no odd port spelling.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return "malformed URL"
    if parsed.scheme != "https" and (require_https or parsed.scheme != "http"):
        return f"scheme {parsed.scheme or '(none)'} not allowed"
    if bad := next((char for char in url if char not in _URL_CHARS), None):
        return f"character U+{ord(bad):04X} not allowed"
    if parsed.userinfo or "@" in _authority(url):
        return "userinfo not allowed"
    host = parsed.raw_host.decode("ascii").lower()
    if not host:
        return "no host"
    if not set(host) <= _HOST_CHARS or host.startswith("xn--") or ".xn--" in host:
        return f"host {host} not allowed (only plain ASCII host names)"
    name, colon, port = _authority(url).lower().partition(":")
    if name != host:  # the text says something else than what httpx makes of it
        return "malformed URL"
    if colon and not (port.isdigit() and not port.startswith("0") and 0 < int(port) < 65536):
        return f"port {port or '(empty)'} not allowed"
    # Kakao's callback host uses the default port; any other port hints at a forged URL.
    if require_https and colon and port != "443":
        return f"port {port} not allowed"
    if not _host_allowed(host, allow_hosts):
        return f"host {host} not allow-listed"
    return parsed


def _authority(url: str) -> str:
    """The text between "//" and the path, query or fragment."""
    rest = url.partition("//")[2]
    for end in "/?#":
        rest = rest.partition(end)[0]
    return rest


def check_callback_url(url: str, *, allow_hosts: list[str], require_https: bool) -> str | None:
    """Why `url` must not be POSTed to, or None when it may (SSRF guard)."""
    parsed = parse_callback_url(url, allow_hosts=allow_hosts, require_https=require_https)
    return parsed if isinstance(parsed, str) else None


class CallbackClient:
    """POSTs to callback URLs, at most once per URL, and records what Kakao answered."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        store: Store,
        metrics: Metrics,
        *,
        allow_hosts: list[str],
        require_https: bool,
        timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._store = store
        self._metrics = metrics
        self._allow_hosts = list(allow_hosts)
        self._require_https = require_https
        self._timeout_s = timeout_s
        self._clock = clock

    def allowed(self, url: str) -> str | None:
        """Why `url` is refused, or None."""
        return check_callback_url(url, allow_hosts=self._allow_hosts, require_https=self._require_https)

    async def post_once(self, url: str, body: bytes, *, received_at: float, deadline: float) -> CallbackOutcome:
        """POST `body` (an encoded, validated SkillResponse) to `url` if it has not been used.

        `received_at` and `deadline` are clock() values: when the skill request arrived and the latest
        moment the POST may start. The request's timeout never runs past the URL's lifetime.
        """
        fingerprint = url_fingerprint(url)
        parsed = parse_callback_url(url, allow_hosts=self._allow_hosts, require_https=self._require_https)
        if isinstance(parsed, str):
            return self._record(fingerprint, CallbackOutcome(status="refused", message=parsed))
        if self._clock() > deadline:
            return self._record(fingerprint, CallbackOutcome(status="expired"))
        # Claimed before sending: a second process or a retried job sees the claim and never re-POSTs.
        if not await self._store.claim_once(f"kakao:callback-used:{fingerprint}", URL_LIFETIME_S * 2):
            return self._record(fingerprint, CallbackOutcome(status="used"))
        return self._record(fingerprint, await self._send(parsed, body, received_at, deadline))

    async def _send(self, url: httpx.URL, body: bytes, received_at: float, deadline: float) -> CallbackOutcome:
        expires_at = received_at + URL_LIFETIME_S
        while True:
            timeout = min(self._timeout_s, expires_at - self._clock())
            if timeout <= 0:
                return CallbackOutcome(status="expired")
            try:
                response = await self._http.post(
                    url,
                    content=body,
                    headers={"Content-Type": "application/json; charset=utf-8"},
                    timeout=timeout,
                    follow_redirects=False,
                )
            except (httpx.ConnectError, httpx.ConnectTimeout):
                # Nothing reached Kakao, so the token is unspent: retry while the window is open.
                if self._clock() + _CONNECT_RETRY_PAUSE_S > deadline:
                    return CallbackOutcome(status="unreachable")
                await asyncio.sleep(_CONNECT_RETRY_PAUSE_S)
                continue
            except Exception as exc:  # whatever the client raises, the job goes on and records it
                return CallbackOutcome(status="unanswered", message=type(exc).__name__)
            return _outcome_of(response)

    def _record(self, fingerprint: str, outcome: CallbackOutcome) -> CallbackOutcome:
        self._metrics.incr(f"kakao_callback:{outcome.status}")
        log = _log.info if outcome.ok else _log.warning
        # The URL carries a token: only its fingerprint is logged.
        log(
            "kakao_callback",
            callback=fingerprint,
            status=outcome.status,
            http_status=outcome.http_status,
            task_id=outcome.task_id,
            detail=outcome.message,
        )
        return outcome


def _outcome_of(response: httpx.Response) -> CallbackOutcome:
    try:
        answer = decode_callback_response(response.content)
    except ResponseDecodeError:
        return CallbackOutcome(
            status="bad_answer", http_status=response.status_code, message=response.text[:200] or None
        )
    return CallbackOutcome(
        status=answer.status or "bad_answer",
        http_status=response.status_code,
        task_id=answer.taskId,
        message=answer.message,
    )
