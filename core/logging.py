"""Structured logging: JSON lines with PII masked, for our loggers and the stdlib ones alike.

structlog loggers and plain `logging` loggers (uvicorn, litestar, httpx) end in the same stdlib handler,
whose formatter runs the masking processor right before rendering, so no code path can write an
unmasked phone number, card number or RRN to the log (dict keys included).

A log call must not stall the event loop either: every string value is cut to LOG_VALUE_LIMIT
characters BEFORE it is masked (the cut is trimmed back so no half number survives, see mask_for_log),
tracebacks to 4x that (most of it from their end), and collections to _MAX_ITEMS items.
"""

from __future__ import annotations

import itertools
import logging
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import msgspec
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from core.policy.pii import LOG_VALUE_LIMIT, mask_for_log

# Loggers that install their own handlers; they are made to propagate to ours instead. (Uvicorn
# re-installs its handlers if it is given a log_config: the server should pass log_config=None.)
_FRAMEWORK_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "litestar")


class _SangdamHandler(logging.StreamHandler[TextIO]):
    """Marks the handler we own so a second configure_logging replaces it instead of adding one."""


# Bounds on what one log event makes the masker scan (and the log carry): every string value is cut at
# LOG_VALUE_LIMIT characters before it is masked (see mask_for_log), collections at _MAX_ITEMS items.
_MAX_ITEMS = 256
# Tracebacks get more room, most of it at the end, where the error and the innermost frames are.
_TRACEBACK_LIMIT = 4 * LOG_VALUE_LIMIT
_TRACEBACK_TAIL = 3 * LOG_VALUE_LIMIT
_TRACEBACK_FIELDS = frozenset({"exception", "stack"})  # written by format_exc_info / StackInfoRenderer


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_for_log(value)
    if isinstance(value, Mapping):
        items = list(itertools.islice(value.items(), _MAX_ITEMS))
        masked = {_mask_key(key): _mask_value(item) for key, item in items}
        if len(value) > _MAX_ITEMS:
            masked["…"] = f"(+{len(value) - _MAX_ITEMS} items)"
        return masked
    if isinstance(value, list | tuple | set | frozenset):
        masked_items = [_mask_value(item) for item in itertools.islice(value, _MAX_ITEMS)]
        if len(value) > _MAX_ITEMS:
            masked_items.append(f"…(+{len(value) - _MAX_ITEMS} items)")
        return masked_items
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask_for_log(str(value))  # exceptions and other objects are rendered as text: mask that


def _mask_key(key: Any) -> Any:
    """Keys can be customer data too ({"010-1234-5678": ...}): string keys are masked like values."""
    return mask_for_log(key) if isinstance(key, str) else key


def _mask_field(key: str, value: Any) -> Any:
    if key in _OWN_FIELDS:
        return value
    if key in _TRACEBACK_FIELDS and isinstance(value, str):
        return mask_for_log(value, limit=_TRACEBACK_LIMIT, keep_tail=_TRACEBACK_TAIL)
    return _mask_value(value)


# Fields the logging pipeline itself writes; they never carry customer data.
_OWN_FIELDS = frozenset({"timestamp", "level", "logger"})


def mask_pii_processor(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask PII in the event and in every string value, recursively."""
    return {key: _mask_field(key, value) for key, value in event_dict.items()}


def _json_line(event: EventDict, **_: Any) -> str:
    return msgspec.json.encode(event, enc_hook=str).decode()


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(level: str = "INFO", *, json: bool = True, stream: TextIO | None = None) -> None:
    """Send all logging to `stream` (default stderr) as JSON lines (or readable lines for a console).

    Safe to call again: the previous handler is replaced, not duplicated.
    """
    numeric_level = logging.getLevelName(level.upper())
    if not isinstance(numeric_level, int):
        raise ValueError(f"unknown log level {level!r}; use DEBUG, INFO, WARNING, ERROR or CRITICAL")
    renderer: Processor = (
        structlog.processors.JSONRenderer(serializer=_json_line)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # before masking: tracebacks can quote values
            mask_pii_processor,
            renderer,
        ],
    )
    handler = _SangdamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _SangdamHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    for name in _FRAMEWORK_LOGGERS:  # their own handlers/levels (set by an earlier run) would bypass ours
        framework_logger = logging.getLogger(name)
        framework_logger.handlers.clear()
        framework_logger.setLevel(logging.NOTSET)
        framework_logger.propagate = True
        framework_logger.disabled = False

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Cached: a fresh bind per log call costs more than the rest of a turn's logging. Safe because
        # every configure_logging call installs the same processors (only the handler changes).
        cache_logger_on_first_use=True,
    )


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


def bind_context(**values: str) -> None:
    """Add fields (request_id, conversation_id, ...) to every log line of the current task."""
    structlog.contextvars.bind_contextvars(**values)


def clear_context() -> None:
    structlog.contextvars.clear_contextvars()
