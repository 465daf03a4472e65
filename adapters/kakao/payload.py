"""SkillPayload: what Kakao i Open Builder POSTs to the skill URL, and its mapping to `Inbound`.

Field names are Kakao's. Unknown fields are ignored; every field is optional (and may be null) except
the three Kakao always sends: `userRequest`, `userRequest.user.id`, `userRequest.utterance`.
Values Kakao may extend (lang, trigger type, user type) are plain strings, never closed enums.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import msgspec

from core.jsondepth import MAX_DEPTH, too_deep
from core.messages import Inbound, KnowledgeMatch

POSTBACK_KEY = "sangdam"  # our key inside button/quick-reply `extra` (-> action.clientExtra)
_KOREAN_LANGS = frozenset({"ko", "kr", "ko-kr", "ko_kr"})


class PayloadError(ValueError):
    """A skill request body that cannot be used; the message names the offending field."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class _Wire(msgspec.Struct, kw_only=True):
    """Base of every payload Struct."""


class Block(_Wire, kw_only=True):
    id: str | None = None
    name: str | None = None


class Bot(_Wire, kw_only=True):
    id: str | None = None
    name: str | None = None


class Reason(_Wire, kw_only=True):
    code: int | None = None
    message: str | None = None


class Knowledge(_Wire, kw_only=True):
    question: str | None = None
    answer: str | None = None
    categories: list[str] | None = None
    landingUrl: str | None = None
    imageUrl: str | None = None


class KnowledgeResult(_Wire, kw_only=True):
    responseType: str | None = None
    matchedKnowledges: list[Knowledge] | None = None


class IntentExtra(_Wire, kw_only=True):
    reason: Reason | None = None
    knowledge: KnowledgeResult | None = None  # the example's key
    knowledges: KnowledgeResult | None = None  # the field table's key


class Intent(_Wire, kw_only=True):
    id: str | None = None
    name: str | None = None  # "지식+" when a knowledge-base entry matched
    extra: IntentExtra | None = None


class DetailParam(_Wire, kw_only=True):
    origin: str | None = None  # text as typed
    value: Any = None  # same string as in params (a JSON string for system entities)
    groupName: str | None = None


class Action(_Wire, kw_only=True):
    id: str | None = None
    name: str | None = None
    params: dict[str, Any] | None = None  # Map<String,String> in the docs; values kept as sent
    detailParams: dict[str, DetailParam] | None = None
    clientExtra: dict[str, Any] | None = None  # null in Kakao's own example


class UserProperties(_Wire, kw_only=True):
    plusfriendUserKey: str | None = None
    appUserId: str | None = None
    isFriend: bool | None = None  # absent when the user has not added (or blocked) the channel


class User(_Wire, kw_only=True):
    id: str  # botUserKey: bot-scoped, the conversation key
    type: str | None = None
    properties: UserProperties | None = None


class UserRequest(_Wire, kw_only=True):
    user: User
    utterance: str
    block: Block | None = None
    params: dict[str, Any] | None = None  # surface, ignoreMe; image uploads arrive as a non-string `media`
    lang: str | None = None  # "ko" (SF) or "kr" (callback guide, v1)
    timezone: str | None = None
    callbackUrl: str | None = None  # only on callback-enabled blocks of an approved AI chatbot


class Trigger(_Wire, kw_only=True):
    type: str | None = None  # TEXT_INPUT, CARD_BUTTON_MESSAGE, QUICKREPLY_BUTTON_BLOCK, IMAGE_UPLOAD, ...
    referrerBlock: Block | None = None


class Flow(_Wire, kw_only=True):
    trigger: Trigger | None = None
    lastBlock: Block | None = None


class SkillPayload(_Wire, kw_only=True):
    userRequest: UserRequest
    bot: Bot | None = None
    intent: Intent | None = None
    action: Action | None = None
    contexts: list[dict[str, Any]] | None = None  # shape undocumented: kept as raw maps
    flow: Flow | None = None


# --- parsing -------------------------------------------------------------------------------------

_MISSING = re.compile(r"^Object missing required field `([^`]+)`(?: - at `\$(.*)`)?$")
_AT = re.compile(r"^(.*) - at `\$(.*)`$")


def _dotted(path: str) -> str:
    return path[1:] if path.startswith(".") else path


def _payload_error(exc: msgspec.ValidationError) -> PayloadError:
    """Rephrase msgspec's message as "<dotted.path>: <problem>"."""
    text = str(exc)
    missing = _MISSING.match(text)
    if missing:
        field, parent = missing.group(1), _dotted(missing.group(2) or "")
        path = f"{parent}.{field}" if parent else field
        return PayloadError(f"{path}: required field missing", path)
    at = _AT.match(text)
    if at:
        path = _dotted(at.group(2))
        problem = at.group(1)
        return PayloadError(f"{path or 'body'}: {problem[:1].lower()}{problem[1:]}", path or None)
    return PayloadError(f"body: {text[:1].lower()}{text[1:]}")


def parse_payload(body: bytes) -> SkillPayload:
    """Decode a SkillPayload; PayloadError says exactly what is wrong (malformed JSON, type, missing)."""
    if not body or not body.strip():
        raise PayloadError("body: empty request body, expected a SkillPayload JSON object")
    if too_deep(body):  # before decoding: deep nesting in free-form fields would exhaust the stack
        raise PayloadError(f"body: JSON nested more than {MAX_DEPTH} levels deep (a SkillPayload nests about 5)")
    try:
        payload = msgspec.json.decode(body, type=SkillPayload)
    except msgspec.ValidationError as exc:  # subclass of DecodeError: catch it first
        raise _payload_error(exc) from exc
    except msgspec.DecodeError as exc:
        raise PayloadError(f"body: malformed JSON ({exc})") from exc
    if not payload.userRequest.user.id.strip():
        raise PayloadError("userRequest.user.id: must not be empty", "userRequest.user.id")
    return payload


def parse_sys_value(raw: str | None) -> Any:
    """A system-entity value (sys_date, sys_number, ...): decoded JSON when it is a JSON object/array,
    otherwise (plain value, or malformed JSON such as Kakao's `{"amount": 1, "unit": }`) the raw string."""
    if raw is None or not isinstance(raw, str):
        return raw
    stripped = raw.strip()
    if not stripped.startswith(("{", "[")) or too_deep(stripped):
        return raw
    try:
        return msgspec.json.decode(stripped)
    except msgspec.DecodeError:
        return raw


# --- reading ------------------------------------------------------------------------------------


def client_extra(payload: SkillPayload) -> dict[str, Any]:
    """action.clientExtra, with Kakao's null read as empty."""
    if payload.action is None or payload.action.clientExtra is None:
        return {}
    return payload.action.clientExtra


def postback_of(payload: SkillPayload) -> str | None:
    """The postback our renderer put in a button/quick reply `extra` ({"sangdam": value}), if any."""
    value = client_extra(payload).get(POSTBACK_KEY)
    return value if isinstance(value, str) else None


def knowledge_matches(payload: SkillPayload) -> list[KnowledgeMatch]:
    """지식+ matches, best first, read from both `knowledge` and `knowledges` (the docs use both)."""
    extra = payload.intent.extra if payload.intent is not None else None
    if extra is None:
        return []
    # Read both keys; if both are present they carry the same matches, so the first one wins.
    result = next((r for r in (extra.knowledge, extra.knowledges) if r is not None and r.matchedKnowledges), None)
    if result is None or result.matchedKnowledges is None:
        return []
    matches: list[KnowledgeMatch] = []
    for item in result.matchedKnowledges:
        answer = (item.answer or "").strip()
        if not answer:
            continue  # a match without an answer gives the engine nothing to say
        matches.append(
            KnowledgeMatch(
                question=(item.question or "").strip(),
                answer=answer,
                landing_url=item.landingUrl or None,
                image_url=item.imageUrl or None,
                categories=[c for c in (item.categories or []) if c],
            )
        )
    return matches


def callback_token(payload: SkillPayload) -> str | None:
    """The one-time token at the end of callbackUrl: unique per request, so a natural idempotency key."""
    url = payload.userRequest.callbackUrl
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. "https://[x]": no usable token
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    token = parts.path.rstrip("/").rpartition("/")[2]
    return token or None


def is_test_surface(payload: SkillPayload) -> bool:
    """Traffic from the admin centre's bot tester (counted apart from customers' messages)."""
    params = payload.userRequest.params or {}
    return params.get("surface") == "BuilderBotTest"


def _locale(lang: str | None) -> str:
    if not lang or lang.strip().lower() in _KOREAN_LANGS:
        return "ko"
    return lang.strip().lower()


def _platform_ids(payload: SkillPayload) -> dict[str, str]:
    request = payload.userRequest
    props = request.user.properties
    ids: dict[str, str | None] = {
        "plusfriendUserKey": props.plusfriendUserKey if props else None,
        "appUserId": props.appUserId if props else None,
        "isFriend": None if props is None or props.isFriend is None else str(props.isFriend).lower(),
        "blockId": request.block.id if request.block else None,
        "botId": payload.bot.id if payload.bot else None,
    }
    return {k: v for k, v in ids.items() if v}


def to_inbound(payload: SkillPayload, *, idempotency_key: str | None = None) -> Inbound:
    """The channel-neutral message. Without an explicit key, the callback token (if any) is used."""
    request = payload.userRequest
    return Inbound(
        channel="kakao",
        conversation_key=request.user.id,
        user_id=request.user.id,
        text=request.utterance,
        payload=postback_of(payload),
        locale=_locale(request.lang),
        platform_ids=_platform_ids(payload),
        idempotency_key=idempotency_key if idempotency_key is not None else callback_token(payload),
        knowledge=knowledge_matches(payload),
    )
