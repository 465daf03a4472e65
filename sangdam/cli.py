"""`sangdam` command line: serve, chat, check, eval."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import httpx

from core.assembly import build_engine, train_classifier
from core.logging import configure_logging
from core.messages import Button, Inbound
from core.nlu.evaluate import EvaluationDataError, evaluate, read_tsv
from core.pack.loader import PackError, check_pack, load_pack
from core.routing_eval import evaluate_routing, read_routing_tsv
from core.settings import DEMO_BOT, Settings, SettingsError, load_settings
from core.store.memory import MemoryStore
from sangdam.terminal import render_terminal, resolve_input

if TYPE_CHECKING:
    import uvicorn

# Connections plus running requests one worker takes before answering 503 at once: past it, waiting
# only makes every answer late (Kakao gives up after 5 s). Turns themselves are capped lower by the
# channels (channels.kakao.max_inflight_turns). BACKLOG is the kernel's accept queue (uvicorn's default,
# made explicit): connections beyond it are not queued by the OS at all.
LIMIT_CONCURRENCY = 2048
BACKLOG = 2048


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sangdam", description="Multi-channel AI customer-support gateway")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway (Litestar + uvicorn)")
    serve.add_argument("--config", help="settings YAML (default: embedded defaults)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--bot", help="bot pack folder (default: the demo bot)")

    chat = sub.add_parser("chat", help="talk to the bot in the terminal (reads lines when stdin is not a TTY)")
    chat.add_argument("--bot", default=None, help="bot pack folder (default: the demo bot)")
    chat.add_argument("--config", help="settings YAML (brain settings are used when present)")

    check = sub.add_parser("check", help="validate a bot pack folder")
    check.add_argument("botdir")

    ev = sub.add_parser("eval", help="evaluate a component")
    ev_sub = ev.add_subparsers(dest="what", required=True)
    nlu = ev_sub.add_parser("nlu", help="intent accuracy on a TSV file (header: text<TAB>intent)")
    nlu.add_argument("file")
    nlu.add_argument("--bot", default=DEMO_BOT)
    routing = ev_sub.add_parser("routing", help="where messages are routed, on a TSV file (header: text<TAB>expected)")
    routing.add_argument("file")
    routing.add_argument("--bot", default=DEMO_BOT)

    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "chat":
            return asyncio.run(_chat(args, sys.stdin, sys.stdout))
        if args.command == "check":
            return _check(Path(args.botdir))
        if args.what == "routing":
            return asyncio.run(_eval_routing(Path(args.file), Path(args.bot)))
        return _eval_nlu(Path(args.file), Path(args.bot))
    except (PackError, SettingsError, EvaluationDataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(getattr(args, "config", None), os.environ)
    if getattr(args, "bot", None):
        settings.bot = args.bot
    if getattr(args, "host", None):
        settings.server.host = args.host
    if getattr(args, "port", None):
        settings.server.port = args.port
    return settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from sangdam.app import build_app, build_gateway

    settings = _settings(args)
    configure_logging(settings.log_level, json=settings.log_json)
    app = build_app(build_gateway(settings, os.environ))
    # The pack, NLU and FAQ index are long-lived: move them out of the collector's way, so its full
    # collections stay short under load (measured in bench/kakao_load.py: p99 96 ms -> 27 ms).
    gc.collect()
    gc.freeze()
    # A turn allocates a few hundred objects (decoded conversation, reply parts) that die with it: collect
    # the youngest generation every 20,000 allocations instead of 700 (bench/kakao_load.py: +5-10 % req/s).
    gc.set_threshold(20_000, 10, 10)
    server = uvicorn.Server(uvicorn_config(app, settings))
    server.run()
    return 0 if server.started else 3  # 3: uvicorn's own "startup failed" status


def trusted_proxies(settings: Settings) -> list[str]:
    """`server.trusted_proxies`: addresses or CIDRs whose X-Forwarded-For/-Proto is believed."""
    return list(settings.server.trusted_proxies)


def uvicorn_config(app: Any, settings: Settings) -> uvicorn.Config:
    """How `sangdam serve` runs uvicorn (tests serve the app with this very config)."""
    import uvicorn

    trusted = trusted_proxies(settings)
    return uvicorn.Config(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_config=None,
        access_log=False,
        # A bounded graceful shutdown: open web-widget streams (SSE) would otherwise hold it up.
        timeout_graceful_shutdown=5,
        # X-Forwarded-For only from the configured proxies. uvicorn's own default trusts 127.0.0.1 (or
        # $FORWARDED_ALLOW_IPS), which lets anything on the host pick its client address and so get
        # around per-address limits such as the web channel's sessions_per_ip.
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted,
        limit_concurrency=LIMIT_CONCURRENCY,
        backlog=BACKLOG,
    )


async def _chat(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    settings = _settings(args)
    configure_logging("WARNING", json=True, stream=sys.stderr)
    pack = load_pack(settings.bot)
    interactive = stdin.isatty()
    async with httpx.AsyncClient(timeout=10.0) as http:
        engine = build_engine(
            pack,
            MemoryStore(settings.retention_s),
            http=http,
            env=os.environ,
            brain_config=settings.brain,
            public_url=settings.public_base_url(),  # the pack's images, as `sangdam serve` shows them
        )
        user = f"cli-{uuid.uuid4().hex[:8]}"
        choices: list[Button] = []
        print(f"봇> {engine.persona.greeting}", file=stdout)
        if interactive:
            print("(번호를 입력하면 버튼을 누른 것과 같아요. 끝내려면 Ctrl+D)", file=stdout)
        while True:
            if interactive:
                print("고객> ", end="", file=stdout, flush=True)
            line = stdin.readline()
            if not line:
                break
            typed = line.rstrip("\n")
            if not typed.strip():
                continue
            if not interactive:
                print(f"고객> {typed}", file=stdout)
            text, payload = resolve_input(typed, choices)
            turn = await engine.handle(
                Inbound(channel="cli", conversation_key=user, user_id=user, text=text, payload=payload)
            )
            view = render_terminal(turn.parts)
            choices = view.choices
            for out in view.lines:
                print(out, file=stdout)
            stdout.flush()
    return 0


def _check(root: Path) -> int:
    issues = check_pack(root)
    errors = [i for i in issues if not i.message.startswith("warning:")]
    for issue in issues:
        print(issue)
    if errors:
        print(f"{root}: {len(errors)} error(s)")
        return 1
    print(f"{root}: OK" + (f" ({len(issues)} warning(s))" if issues else ""))
    return 0


def _eval_nlu(file: Path, bot: Path) -> int:
    report = evaluate(train_classifier(load_pack(bot)), read_tsv(file))
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


async def _eval_routing(file: Path, bot: Path) -> int:
    configure_logging("WARNING", json=True, stream=sys.stderr)
    rows = read_routing_tsv(file)
    async with httpx.AsyncClient(timeout=10.0) as http:
        engine = build_engine(load_pack(bot), MemoryStore(), http=http, env=os.environ)
        report = await evaluate_routing(engine, rows)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
