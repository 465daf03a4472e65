"""`sangdam eval routing`: what the bot did with each first message, against what it should have done."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import sangdam

ROWS = [
    ("안녕하세요", "intent:greeting"),
    ("티비 전원이 안 켜져요", "scenario:power_issue"),
    ("상담원 연결해 주세요", "handoff"),
    ("공유기 리셋 버튼 어디 있어요?", "faq:router-reset"),
    ("안녕하세요 반가워요", "faq:member-withdraw"),  # deliberately wrong: must show up as an error
]


def test_eval_routing_reports_where_each_message_went(tmp_path: Path) -> None:
    rows = tmp_path / "routing.tsv"
    rows.write_text("text\texpected\n" + "".join(f"{t}\t{e}\n" for t, e in ROWS), encoding="utf-8")
    done = sangdam("eval", "routing", str(rows))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["rows"] == 5
    assert report["accuracy"] == 0.8
    assert report["per_class"]["scenario:power_issue"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert report["confusion"]["handoff"] == {"handoff": 1}
    [error] = report["errors"]
    assert error["text"] == "안녕하세요 반가워요" and error["expected"] == "faq:member-withdraw"
    assert error["got"] == "intent:greeting"
    assert error["candidates"]["intents"][0][0] == "greeting"
    assert report["latency_ms"]["p99"] >= report["latency_ms"]["p50"] > 0


def test_eval_routing_names_the_expected_header(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("text\tintent\n안녕\tintent:greeting\n", encoding="utf-8")
    done = sangdam("eval", "routing", str(bad))
    assert done.returncode == 2
    assert "text<TAB>expected" in done.stderr
