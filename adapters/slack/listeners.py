"""The bolt AsyncApp and its listeners: acknowledge, decide, dedupe, hand the work to a background job.

Bolt acknowledges events before their listener runs (process_before_response=False) and the listeners
below call `ack()` first for interactive payloads, so Slack gets its 2xx well within 3 s; the turn runs
in a job afterwards and answers through the Web API. Dedupe (event_id, then channel + ts; trigger_id
for buttons) happens in the store before any side effect, so Slack's retries never cause a second reply.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.cards import CLAIM_ACTION, RESOLVE_ACTION
from adapters.slack.console import AgentsConsole
from adapters.slack.jobs import Jobs
from adapters.slack.pilot import Pilot
from adapters.slack.records import SlackRecords
from adapters.slack.render import LINK_ACTION, REPLY_ACTION
from adapters.slack.routing import Route, route_message
from adapters.slack.wire import BlockActionsPayload, EventCallback, MessageEvent, parse

from .config import SlackConfig

_log = structlog.get_logger("sangdam.slack.listeners")


class SlackListeners:
    def __init__(
        self, *, config: SlackConfig, pilot: Pilot, console: AgentsConsole, records: SlackRecords, jobs: Jobs
    ) -> None:
        self._config = config
        self._pilot = pilot
        self._console = console
        self._records = records
        self._jobs = jobs

    def register(self, app: AsyncApp) -> None:
        app.event("message")(self.on_event)
        app.event("app_mention")(self.on_event)
        app.action(re.compile("^" + re.escape(REPLY_ACTION)))(self.on_reply_button)
        app.action(re.compile("^" + re.escape(LINK_ACTION)))(self.on_link_button)
        app.action(CLAIM_ACTION)(self.on_claim)
        app.action(RESOLVE_ACTION)(self.on_resolve)
        app.error(self.on_error)

    # --- events ----------------------------------------------------------------------------------

    async def on_event(self, body: dict[str, Any], context: AsyncBoltContext, request: AsyncBoltRequest) -> None:
        try:
            envelope = parse(body, EventCallback)
            event = parse(body.get("event"), MessageEvent)
        except msgspec.ValidationError as exc:
            _log.warning("slack_event_unreadable", error=str(exc))
            return
        route = route_message(event, self._config, context.bot_user_id)
        if route == Route.IGNORE:
            return
        if route == Route.PILOT_IF_KNOWN_THREAD and not await self._records.is_pilot_thread(
            event.channel, event.thread_root
        ):
            return
        if not await self._records.first_delivery(envelope.event_id, event.channel, event.ts):
            retry = next(iter(request.headers.get("x-slack-retry-num") or []), None)
            _log.info("slack_duplicate_dropped", event_id=envelope.event_id, retry=retry)
            return
        team = envelope.team_id or event.team or ""
        bot_user_id = context.bot_user_id
        if route == Route.AGENT_REPLY:
            self._jobs.spawn(self._console.agent_reply(event, bot_user_id), f"agent-reply:{event.ts}")
        elif route == Route.AGENT_EDIT:
            self._jobs.spawn(self._console.agent_edit(event), f"agent-edit:{event.ts}")
        else:
            work = self._pilot.on_message(event, team=team, event_id=envelope.event_id, bot_user_id=bot_user_id)
            self._jobs.spawn(work, f"turn:{event.ts}")

    # --- interactivity ---------------------------------------------------------------------------

    async def on_reply_button(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = self._actions(body)
        if payload is None or not payload.actions:
            return
        action = payload.actions[0]
        if not await self._records.first_action(payload.trigger_id or f"{action.action_ts}:{payload.user.id}"):
            return
        self._jobs.spawn(self._pilot.on_button(payload, action), f"button:{action.action_ts}")

    async def on_link_button(self, ack: AsyncAck) -> None:
        await ack()  # the browser opens the URL; nothing for us to do

    async def on_claim(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = self._actions(body)
        if payload is None:
            return
        name = payload.user.name or payload.user.username or payload.user.id
        work = self._console.claim(payload.channel_id, payload.message_ts, payload.user.id, name)
        self._jobs.spawn(work, f"claim:{payload.message_ts}")

    async def on_resolve(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = self._actions(body)
        if payload is None:
            return
        work = self._console.resolve(payload.channel_id, payload.message_ts, payload.user.id)
        self._jobs.spawn(work, f"resolve:{payload.message_ts}")

    def _actions(self, body: dict[str, Any]) -> BlockActionsPayload | None:
        try:
            return parse(body, BlockActionsPayload)
        except msgspec.ValidationError as exc:
            _log.warning("slack_action_unreadable", error=str(exc))
            return None

    async def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        _log.error("slack_listener_error", error=type(error).__name__, detail=str(error)[:200], type=body.get("type"))


def build_bolt_app(
    *, client: AsyncWebClient, signing_secret: str | None, socket_mode: bool, listeners: SlackListeners
) -> AsyncApp:
    """A single-workspace AsyncApp (auth.test once, then cached) using our Web API client."""
    app = AsyncApp(
        client=client,  # carries the bot token; bolt then authorizes with auth.test once
        signing_secret=signing_secret,
        # Socket Mode traffic is authenticated by the app token's WebSocket, not by signatures.
        request_verification_enabled=not socket_mode,
        process_before_response=False,
        logger=logging.getLogger("sangdam.slack.bolt"),
    )
    listeners.register(app)
    return app
