"""Reply text streamed from the LLM brain reaches the web visitor's stream as it is produced, and several
gateway processes sharing one Redis serve one conversation."""

from __future__ import annotations

import httpx

from core.messages import Text
from tests.brain.conftest import decision
from tests.brain.openai_standin import OpenAIStandIn, Reply
from tests.web.conftest import Visitor, bot_texts, open_stream, running_gateway


async def test_llm_reply_text_streams_as_deltas_before_the_final_message() -> None:
    reply = "죄송해요, 날씨는 제가 도와드리기 어려워요. 누리전자 제품이나 주문 문의는 언제든 도와드릴게요."
    standin = OpenAIStandIn()
    standin.add(Reply(content=decision(reply, intent="out_of_scope"), chunk_chars=6, chunk_delay_s=0.03))
    await standin.start()
    try:
        env = {"SANGDAM_LLM_BASE_URL": standin.base_url}
        async with (
            running_gateway(env=env, brain={"max_retries": 0}) as gw,
            httpx.AsyncClient(base_url=gw.base_url, timeout=15) as http,
        ):
            visitor = await Visitor(http).start()
            async with open_stream(http, visitor) as stream:
                answer = await visitor.say("다음 주 서울 날씨 어때요?")
                await stream.wait_for(lambda s: len(s.messages()) >= 2)
    finally:
        await standin.stop()
    assert answer.status_code == 200
    names = [name for name, _, _ in stream.items]
    deltas = [data["text"] for name, _, data in stream.items if name == "delta"]
    assert len(deltas) >= 3, names  # streamed in pieces, not one block
    assert "".join(deltas) == reply
    final = names.index("message", names.index("delta"))  # the bot message comes after the deltas
    assert bot_texts(stream.messages()[1]) == [reply] and final > names.index("delta")
    client_id = stream.messages()[0]["client_id"]
    assert all(data["reply_to"] == client_id for name, _, data in stream.items if name == "delta")


async def test_two_gateway_processes_share_a_conversation_through_redis(redis_url: str) -> None:
    async with running_gateway(store_url=redis_url) as a, running_gateway(store_url=redis_url) as b:
        async with (
            httpx.AsyncClient(base_url=a.base_url, timeout=10) as http_a,
            httpx.AsyncClient(base_url=b.base_url, timeout=10) as http_b,
        ):
            visitor = await Visitor(http_a).start()
            on_b = Visitor(http_b)
            on_b.token, on_b.session_id = visitor.token, visitor.session_id
            # The stream is served by process B; the message goes to process A.
            async with open_stream(http_b, on_b) as stream:
                await visitor.say("전원이 안 켜져요")
                await stream.wait_for(lambda s: len(s.messages()) >= 2)
                assert [m["role"] for m in stream.messages()] == ["customer", "bot"]
                # An agent's message delivered by process A reaches the stream on B too.
                assert await a.gateway.directory.deliver(f"web:{visitor.session_id}", [Text(text="상담직원이에요.")])
                await stream.wait_for(lambda s: len(s.messages()) >= 3)
            assert [e["id"] for e in await on_b.history()] == [1, 2, 3]
