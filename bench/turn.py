"""In-process engine throughput and latency on a mixed Korean workload.

    python bench/turn.py [--turns 20000] [--conversations 400] [--bot bots/demo]

Each simulated customer runs a script (greeting, FAQ questions, scenario starts, button presses,
slot answers, order look-ups, out-of-scope chatter) against the real engine with the in-memory store and
INFO logging written to a null stream, one turn at a time. Prints turns/s and p50/p99/max per-turn
latency in ms. Target (issue 2): >= 2,000 turns/s with p99 <= 2 ms. The scripts repeat, as real traffic
does (button labels, greetings), so the NLU's per-text cache hits; `--vary` makes every typed text
unique to measure the uncached path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.assembly import build_engine
from core.logging import configure_logging
from core.messages import Button, Inbound, QuickReplies
from core.pack.loader import load_pack
from core.settings import DEMO_BOT
from core.store.memory import MemoryStore

# A message starting with "#N" presses the N-th quick reply of the previous answer.
SCRIPTS: list[list[str]] = [
    ["안녕하세요", "티비 전원이 안켜져요ㅠㅠ", "#1", "#2", "#1", "감사합니다"],
    ["공유기 와이파이가 자꾸 끊겨요", "#1", "#2", "#1", "5"],
    ["주문 배송 조회하고 싶어요", "ORD-20261101-0001", "고마워요"],
    ["E101 오류가 떠요", "#1", "#1"],
    ["와이파이 비밀번호 바꾸는 법 알려주세요", "#1", "#1"],
    ["AS 접수하려고요", "#1", "화면이 안 나와요", "다음주 월요일", "010-2345-6789"],
    ["환불 규정이 어떻게 되나요?", "#1"],
    ["오늘 날씨 어때요", "주식 추천해줘", "배송은 보통 며칠 걸려요?"],
    ["리모컨 페어링 어떻게 해요", "보증기간이 얼마나 되나요"],
]


async def run(turns: int, conversations: int, bot: str, vary: bool = False) -> dict[str, float]:
    pack = load_pack(bot)
    async with httpx.AsyncClient() as http:
        engine = build_engine(pack, MemoryStore(), http=http)
        latencies: list[float] = []
        last_options: dict[int, list[Button]] = {}
        position = [0] * conversations
        started = time.perf_counter()
        done = 0
        while done < turns:
            for conv in range(conversations):
                if done >= turns:
                    break
                script = SCRIPTS[conv % len(SCRIPTS)]
                step = script[position[conv] % len(script)]
                if position[conv] % len(script) == 0:  # start the script again as a new conversation
                    last_options[conv] = []
                position[conv] += 1
                text, payload = step, None
                options = last_options.get(conv, [])
                if step.startswith("#") and options:
                    button = options[min(int(step[1:]), len(options)) - 1]
                    text, payload = button.label, button.value if button.kind == "postback" else None
                if vary and payload is None:  # defeat the per-text caches: every typed message is new
                    text = f"{text} {_VARIANTS[done % len(_VARIANTS)]}{done}"
                round_no = position[conv] // len(script)
                inbound = Inbound(
                    channel="bench",
                    conversation_key=f"{conv}-{round_no}",
                    user_id=str(conv),
                    text=text,
                    payload=payload,
                )
                t0 = time.perf_counter()
                turn = await engine.handle(inbound)
                latencies.append(time.perf_counter() - t0)
                last_options[conv] = [b for p in turn.parts if isinstance(p, QuickReplies) for b in p.options]
                done += 1
        elapsed = time.perf_counter() - started
    latencies.sort()
    ms = [x * 1000 for x in latencies]
    return {
        "vary": vary,
        "turns": turns,
        "conversations": conversations,
        "turns_per_s": round(turns / elapsed, 1),
        "p50_ms": round(statistics.median(ms), 3),
        "p99_ms": round(ms[int(len(ms) * 0.99) - 1], 3),
        "max_ms": round(ms[-1], 3),
    }


_VARIANTS = ["요", "ㅠㅠ", "혹시", "ㅋㅋ", "please", "네"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=20000)
    parser.add_argument("--conversations", type=int, default=400)
    parser.add_argument("--bot", default=DEMO_BOT)
    parser.add_argument("--vary", action="store_true", help="make every typed text unique (no cache hits)")
    args = parser.parse_args()
    with open(os.devnull, "w") as null:  # production logging (INFO, JSON, PII masking), written nowhere
        configure_logging("INFO", json=True, stream=null)
        asyncio.run(run(200, 20, args.bot))  # warm-up (code paths)
        result = asyncio.run(run(args.turns, args.conversations, args.bot, args.vary))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
