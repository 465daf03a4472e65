"""What keeps slack-bolt from raising on, or logging, a hostile request.

Bolt parses the body while building its request, before it checks the signature, and raises (HTTP 500)
on what it cannot read. `malformed` reads every request first, the way bolt will: a timestamp header
that is not a number, a non-ASCII signature, a body nested too deep, not JSON where bolt expects JSON,
JSON that is not an object, or an envelope field bolt indexes into with the wrong type
(`envelope_problem`) is a reason to refuse it. Bolt's log line for a refused signature carried the whole
raw body: `QuietRefusals` keeps the line, without it.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import parse_qsl

from core.jsondepth import MAX_DEPTH, too_deep

_TIMESTAMP = re.compile(r"[0-9]{1,15}")  # ASCII digits only: int() also takes "١٢" and 5,000-digit numbers
# The logger of bolt's RequestVerification middleware (slack_bolt/middleware/request_verification):
# get_bolt_logger(RequestVerification) names it after that class, also for AsyncRequestVerification.
BOLT_VERIFICATION_LOGGER = "slack_bolt.RequestVerification"
_BOLT_REFUSED = "Invalid request signature detected"
_BODY_MARK = ", body: "
_REFUSED_LINE = "slack_request_refused: invalid signature or stale timestamp (%d characters of body not logged)"


class QuietRefusals(logging.Filter):
    """Bolt logs "Invalid request signature detected (signature: …, timestamp: …, body: <raw body>)" at INFO.

    The raw body can carry customer data and be a megabyte long (the masker would scan it all), and the
    signature header is the caller's. The line is kept, short: the body's length replaces it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg
        if isinstance(message, str) and message.startswith(_BOLT_REFUSED):
            mark = message.find(_BODY_MARK)
            length = len(message) - mark - len(_BODY_MARK) - 1 if mark >= 0 else 0
            record.msg = _REFUSED_LINE
            record.args = (max(length, 0),)
        return True


def quiet_bolt_refusals() -> None:
    """Install `QuietRefusals` on bolt's request-verification logger (once per process)."""
    logger = logging.getLogger(BOLT_VERIFICATION_LOGGER)
    if not any(isinstance(f, QuietRefusals) for f in logger.filters):
        logger.addFilter(QuietRefusals())


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


# The envelope fields bolt's middleware and listener matchers index into without checking their types
# (slack_bolt/request/payload_utils.py, listener_matcher/builtins.py, request/internals.py): a Slack
# payload always has these types; any other makes bolt raise (HTTP 500) instead of refusing.
_OBJECT, _STRING, _LIST = (dict,), (str,), (list,)
_OBJECT_OR_ID = (dict, str, type(None))  # user, team, channel, ...: an object, an id, or null
_ENVELOPE: dict[str, tuple[type, ...]] = {
    "type": _STRING,
    "event": _OBJECT,
    "actions": _LIST,
    "view": _OBJECT,
    "authorizations": _LIST,
    "workflow_step": _OBJECT,
    "callback_id": _STRING,
    "command": _STRING,
    "action_id": _STRING,
    "response_url": _STRING,
    "response_urls": _LIST,
    "user": _OBJECT_OR_ID,
    "team": _OBJECT_OR_ID,
    "channel": _OBJECT_OR_ID,
    "enterprise": _OBJECT_OR_ID,
    "container": (dict, type(None)),
    "message": (dict, type(None)),
}
_EVENT: dict[str, tuple[type, ...]] = {
    "type": _STRING,
    "message": (dict, type(None)),
    "previous_message": (dict, type(None)),
    "item": (dict, type(None)),
    "workflow_step": _OBJECT,
    "callback_id": _STRING,
}
_VIEW: dict[str, tuple[type, ...]] = {"type": _STRING, "callback_id": _STRING}
_TYPE_NAMES = {dict: "an object", str: "a string", list: "an array", type(None): "null"}


def _fields_problem(doc: dict[str, Any], spec: dict[str, tuple[type, ...]], where: str) -> str | None:
    for name, types in spec.items():
        if name in doc and not isinstance(doc[name], types):
            wanted = " or ".join(_TYPE_NAMES[t] for t in types)
            return f"{where}{name} must be {wanted}, got {_json_kind(doc[name])}"
    return None


def envelope_problem(body: dict[str, Any]) -> str | None:
    """Why bolt could not route this Slack payload (None if it can): fields it reads have the wrong type."""
    problem = _fields_problem(body, _ENVELOPE, "")
    if problem is None and isinstance(body.get("event"), dict):
        problem = _fields_problem(body["event"], _EVENT, "event.")
    if problem is None and isinstance(body.get("view"), dict):
        problem = _fields_problem(body["view"], _VIEW, "view.")
    if problem is None and "authorizations" in body:
        if not all(isinstance(item, dict) for item in body["authorizations"]):
            problem = "authorizations must be an array of objects"
    if problem is None and "actions" in body:
        actions = body["actions"]
        if not all(isinstance(item, dict) for item in actions):
            problem = "actions must be an array of objects"
        elif body.get("type") == "block_actions" and not (actions and isinstance(actions[0].get("action_id"), str)):
            problem = "block_actions needs actions[0].action_id (a string)"
    return problem


def _json_object_problem(text: str, what: str) -> str | None:
    """Why bolt could not read `text` as the Slack payload object it expects (None if it can)."""
    if too_deep(text):
        return f"{what} nests JSON more than {MAX_DEPTH} levels deep"
    try:
        value = json.loads(text)  # what bolt itself runs on it
    except json.JSONDecodeError as exc:
        return f"{what} is not valid JSON: {exc.msg} at position {exc.pos}"
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4,300 digits
        return f"{what} is not valid JSON: {str(exc)[:120]}"
    if not isinstance(value, dict):
        return f"{what} must be a JSON object, got {_json_kind(value)}"
    problem = envelope_problem(value)
    return None if problem is None else f"{what} is not a Slack payload: {problem}"


def malformed(headers: dict[str, list[str]], body: str) -> str | None:
    """Why this request cannot be handed to bolt (None if it can); `headers` by lower-case name.

    Mirrors bolt's reading of the body (slack_bolt.request.internals.parse_body): JSON when the content
    type is exactly application/json or the body starts with "{", else a form whose `payload` field, if
    any, is JSON; a plain form is read as fields.
    """
    for value in headers.get("x-slack-request-timestamp", []):
        if not _TIMESTAMP.fullmatch(value):
            return "X-Slack-Request-Timestamp must be the request's Unix time in seconds (ASCII digits)"
    for value in headers.get("x-slack-signature", []):
        if not value.isascii():
            return "X-Slack-Signature must be ASCII (v0=<hex HMAC-SHA256>)"
    if not body:
        return None
    content_type = next(iter(headers.get("content-type", [])), "").split(";")[0]
    if content_type == "application/json" or body.startswith("{"):
        return _json_object_problem(body, "the body")
    fields = dict(parse_qsl(body, keep_blank_values=True))
    if "payload" in body:  # bolt's test: a substring; without a `payload` field it reads nothing
        payload = fields.get("payload")
        return None if payload is None else _json_object_problem(payload, "the form field `payload`")
    problem = envelope_problem(dict(fields))
    return None if problem is None else f"the form is not a Slack payload: {problem}"
