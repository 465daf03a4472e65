"""Visitor tokens: `v1.<session_id>.<issued_at>.<signature>`, HMAC-SHA256 over the part before the signature.

A token names one chat session and grants nothing else; it is kept in the visitor's localStorage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from typing import NamedTuple

_VERSION = "v1"
# ASCII-only patterns: str.isdigit() and \d also accept other scripts' digits (e.g. "١"), which would
# then fail deep inside the signature check instead of being refused as malformed.
_TOKEN = re.compile(r"v1\.([A-Za-z0-9_-]{22})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})")


class TokenError(ValueError):
    """The token is missing, malformed, tampered with or expired (the message says which)."""


class Session(NamedTuple):
    session_id: str
    issued_at: int
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class TokenSigner:
    def __init__(self, secret: bytes, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._ttl_s = int(ttl_s)
        self._clock = clock

    def new_session_id(self) -> str:
        return _b64(secrets.token_bytes(16))

    def issue(self, session_id: str) -> tuple[str, Session]:
        issued = int(self._clock())
        body = f"{_VERSION}.{session_id}.{issued}"
        return f"{body}.{self._sign(body)}", Session(session_id, issued, issued + self._ttl_s)

    def verify(self, token: str | None) -> Session:
        if not token:
            raise TokenError("no visitor token: send 'Authorization: Bearer <token>' from POST /sessions")
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise TokenError("malformed visitor token: get a new one from POST /sessions")
        body, signature = token.rsplit(".", 1)
        # Bytes, not str: compare_digest refuses non-ASCII str (the pattern already keeps them out).
        if not hmac.compare_digest(signature.encode("ascii"), self._sign(body).encode("ascii")):
            raise TokenError("visitor token signature does not match: get a new one from POST /sessions")
        issued = int(match.group(2))
        expires = issued + self._ttl_s
        if self._clock() >= expires:
            raise TokenError("visitor token expired: get a new one from POST /sessions")
        return Session(match.group(1), issued, expires)

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._secret, body.encode("ascii"), hashlib.sha256).digest())
