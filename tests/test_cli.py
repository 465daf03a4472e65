"""The `sangdam` command as a user runs it: check, eval nlu, serve."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def sangdam(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sangdam", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def test_check_broken_pack_prints_file_line_and_fix() -> None:
    done = sangdam("check", "tests/data/broken_packs/typo_pack")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert any(line.startswith("scenarios/power.yaml:10: ") and "tv_plug" in line and "fix:" in line for line in lines)
    assert any(line.startswith("scenarios/power.yaml:15: ") and "`next`" in line for line in lines)
    assert lines[-1].endswith("3 error(s)")


def test_check_demo_pack_is_clean() -> None:
    done = sangdam("check", "bots/demo")
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip().endswith("OK")


def test_eval_nlu_reports_metrics_on_held_out_file() -> None:
    done = sangdam("eval", "nlu", "tests/data/nlu_heldout.tsv")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["accuracy"] >= 0.90
    assert set(report["per_intent"]["power_issue"]) >= {"precision", "recall", "f1", "support"}
    assert {"confusion", "errors", "macro_f1"} <= set(report)
    assert report["latency_ms"]["p50"] > 0 and report["latency_ms"]["p99"] >= report["latency_ms"]["p50"]


def test_eval_nlu_rejects_a_file_without_header(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("전원이 안 켜져요\tpower_issue\n", encoding="utf-8")
    done = sangdam("eval", "nlu", str(bad))
    assert done.returncode != 0
    assert "text" in done.stderr and "intent" in done.stderr


def test_serve_runs_the_demo_on_embedded_defaults() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANGDAM", "OPENAI"))}
    env["SANGDAM_PORT"] = str(port)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sangdam", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "server exited early"
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.1)
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200
        assert ready.json()["bot"] == "demo"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    # Start-up logs are JSON lines.
    first = next(line for line in out.splitlines() if line.startswith("{"))
    assert json.loads(first)["level"]


def test_log_lines_of_a_request_carry_its_request_id() -> None:
    import io

    from litestar.testing import TestClient

    from core.logging import configure_logging
    from core.settings import load_settings
    from sangdam.app import build_app, build_gateway

    logs = io.StringIO()
    configure_logging("INFO", json=True, stream=logs)
    try:
        settings = load_settings(None, {"SANGDAM_CHANNELS": "kakao"})
        body = {"userRequest": {"utterance": "안녕하세요", "user": {"id": "u-1"}}}
        with TestClient(app=build_app(build_gateway(settings, {}))) as client:
            assert client.post("/kakao/skill", json=body, headers={"x-request-id": "abc-123"}).status_code == 200
            assert client.post("/kakao/skill", json=body, headers={"x-request-id": "bad id!"}).status_code == 200
    finally:
        configure_logging("WARNING")
    turns = [line for line in map(json.loads, logs.getvalue().splitlines()) if line["event"] == "turn"]
    assert [t["conversation_id"] for t in turns] == ["kakao:u-1", "kakao:u-1"]
    assert turns[0]["request_id"] == "abc-123"
    assert len(turns[1]["request_id"]) == 16  # an untidy caller id is replaced by a fresh one
