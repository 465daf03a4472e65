"""The web API's request bodies and their validation (one place for the channel's limits)."""

from __future__ import annotations

import re
import unicodedata

import msgspec

from core.jsondepth import MAX_DEPTH, too_deep

_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
_EVENT_ID = re.compile(r"[0-9]{1,12}")  # ASCII digits only: isdigit() also accepts "²" and "١"


class WebError(Exception):
    """A request the API refuses: HTTP status, a stable error code and a human-readable detail."""

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers or {}


class MessageIn(msgspec.Struct, kw_only=True):
    id: str  # the client's message id; a retry with the same id is answered once
    text: str = ""
    payload: str | None = None  # the value of a pressed postback button; `text` is its label


class ValidMessage(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    text: str
    payload: str | None


_decoder = msgspec.json.Decoder(MessageIn)


def parse_message(body: bytes, *, max_text_chars: int, max_payload_chars: int) -> ValidMessage:
    if not body.strip():
        raise WebError(400, "bad_request", 'empty body: send JSON like {"id": "<uuid>", "text": "안녕하세요"}')
    if too_deep(body):  # before decoding: deep nesting (even in an ignored field) would exhaust the stack
        raise WebError(400, "bad_request", f"body nests JSON more than {MAX_DEPTH} levels deep: send one message")
    try:
        message = _decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise WebError(400, "bad_request", f"invalid message: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise WebError(400, "bad_request", f"body is not valid JSON: {exc}") from exc
    if not _CLIENT_ID.fullmatch(message.id):
        raise WebError(400, "bad_request", "id must be 8-64 characters of A-Z, a-z, 0-9, '_' or '-' (e.g. a UUID)")
    text = unicodedata.normalize("NFC", message.text).strip()
    if len(text) > max_text_chars:
        raise WebError(400, "bad_request", f"text is {len(text)} characters long; the limit is {max_text_chars}")
    payload = message.payload
    if payload is not None and not (0 < len(payload) <= max_payload_chars):
        raise WebError(400, "bad_request", f"payload must be 1-{max_payload_chars} characters")
    if not text and payload is None:
        raise WebError(400, "bad_request", "text is empty: send the customer's message (or a button's payload)")
    return ValidMessage(client_id=message.id, text=text, payload=payload)


def parse_after(value: str | None) -> int:
    """The `after` query parameter / Last-Event-ID header: a non-negative event id."""
    if value is None or value == "":
        return 0
    if not _EVENT_ID.fullmatch(value):
        raise WebError(400, "bad_request", f"after / Last-Event-ID must be a non-negative integer, got {value[:20]!r}")
    return int(value)
