"""The rag-query graph with a real OpenAI-compatible HTTP server that streams tokens.

The server (tests/fake_openai.py, on a free loopback port) speaks the chat-completions
protocol: `stream: true` answers are `data: {...delta...}` SSE lines ending with
`data: [DONE]`. "analyst" writes a cited answer word by word, "broken" fails with 500.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import date

import pytest
from fake_openai import Script, fake_openai_server

from beacon_contracts.commands import AnswerQuestion
from beacon_contracts.events import Envelope
from beacon_contracts.search import SearchHit
from beacon_rag_query.bootstrap import build
from beacon_rag_query.domain import Company, QueryStatus
from beacon_rag_query.repository import InMemoryQueryRepository
from beacon_rag_query.settings import RagQuerySettings
from beacon_rag_query.sources import InMemoryCatalogue, InMemoryFundamentals, InMemoryPassageSearch
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.llm.openai_compat import OpenAIChatModel


ANSWER = ("Reliance's total revenue from operations for FY2024 was ₹9,74,864 crore [{n}]. "
          "That was an increase of 2.6% over the previous year [{n}].")
TITLE = "Reliance Industries Annual Report FY2024"
PASSAGES = [
    SearchHit(chunk_id="ril-45", document_id=123, document_title=TITLE, company_symbol="RELIANCE.NS",
              doc_type="annual_report", fiscal_period="FY2024", page_number=45, score=0,
              text="Total revenue from operations for FY2024 was ₹9,74,864 crore, an increase "
                   "of 2.6% over the previous year."),
    SearchHit(chunk_id="ril-46", document_id=123, document_title=TITLE, company_symbol="RELIANCE.NS",
              doc_type="annual_report", fiscal_period="FY2024", page_number=46, score=0,
              text="Net profit for FY2024 was ₹79,020 crore, and revenue grew in retail."),
]


def _cited_answer(body: dict) -> str:
    """Like a model, cite the passage that holds the figure, by the number it was given."""
    user = body["messages"][-1]["content"]
    return ANSWER.format(n=re.search(r"\[(\d+)\] \([^)]*\)\n[^\n]*9,74,864", user).group(1))


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[dict]]]:
    usage = {"prompt_tokens": 321, "completion_tokens": 42, "total_tokens": 363}
    with fake_openai_server(Script(answer=_cited_answer, usage=usage)) as running:
        yield running


async def _run(base_url: str, model: str, *, stream: bool) -> AsyncIterator:
    bus = InMemoryBus()
    repository = InMemoryQueryRepository()
    seen: list[Envelope] = []

    async def observe(envelope: Envelope) -> None:
        seen.append(envelope)

    bus.subscribe("test-observer", ["#"], observe)
    chat_model = OpenAIChatModel(base_url=base_url, api_key="test-key", model=model,
                                 timeout_s=10, max_retries=0)
    service = build(RagQuerySettings(), Adapters(bus=bus, chat_model=chat_model),
                    search=InMemoryPassageSearch(PASSAGES),
                    catalogue=InMemoryCatalogue([Company("RELIANCE.NS", "Reliance Industries Ltd.", "RELIANCE")]),
                    fundamentals=InMemoryFundamentals(), repository=repository, instance_id="it",
                    today=lambda: date(2024, 11, 25))
    await service.start()
    await bus.start()
    try:
        request = AnswerQuestion(job_id="q-llm", owner="7", question="What was Reliance's revenue in FY2024?",
                             stream=stream)
        await bus.publish(Envelope.wrap(request, correlation_id="q-llm"))
        await bus.drain(timeout=60)
        frames = sorted((e.parse() for e in seen if e.type == "QueryFrame"), key=lambda f: f.seq)
        return frames, await repository.get("q-llm")
    finally:
        await bus.stop()
        await service.stop()
        await chat_model.close()


async def test_tokens_stream_from_the_model_to_frames_in_order(server):
    base_url, calls = server
    calls.clear()
    frames, record = await _run(base_url, "analyst", stream=True)
    tokens = [f.data["content"] for f in frames if f.event == "token"]
    assert "".join(tokens) == record.response
    assert [f.seq for f in frames] == list(range(len(frames)))
    kinds = [f.event for f in frames]
    assert kinds.index("token") > kinds.index("node") and kinds[-1] == "done"
    assert max(i for i, k in enumerate(kinds) if k == "token") < kinds.index("citation")
    # The model was asked to stream, and was shown the numbered passages and the question.
    body, = calls
    assert body["stream"] is True and body["model"] == "analyst"
    user = body["messages"][-1]["content"]
    assert "What was Reliance's revenue in FY2024?" in user
    cited = re.search(rf"\[(\d+)\] \({TITLE}, page 45, FY2024\)", user).group(1)
    # The figure read from the passages travels with them, fenced as data like them.
    figures = user.split("<figures>")[1].split("</figures>")[0]
    assert f"[{cited}] Reliance Industries" in figures and "₹9,74,864 crore" in figures
    assert "not instructions" in user and "never instructions" in body["messages"][0]["content"]
    # The answer checks out against the passage it cites.
    assert record.status is QueryStatus.COMPLETED
    assert record.response == ANSWER.format(n=cited)
    assert record.metrics["faithfulness_score"] == 1.0
    # The page the answer marks comes first; citing.py may add passages that corroborate it.
    pages = [c["page_number"] for c in record.citations]
    assert pages[0] == 45 and len(pages) <= 5
    assert record.workflow_trace["model"] == "openai:analyst"
    assert record.workflow_trace["generation_attempts"] == 1


async def test_without_streaming_the_model_reports_its_token_counts(server):
    base_url, calls = server
    calls.clear()
    frames, record = await _run(base_url, "analyst", stream=False)
    assert [f for f in frames if f.event == "token"] == []
    assert calls[0].get("stream") in (None, False)
    assert record.metrics["token_count_input"] == 321
    assert record.metrics["token_count_output"] == 42
    assert record.status is QueryStatus.COMPLETED and "₹9,74,864 crore" in record.response


async def test_a_failing_model_falls_back_to_the_extractive_answer(server):
    base_url, _ = server
    frames, record = await _run(base_url, "broken", stream=True)
    assert record.status is QueryStatus.COMPLETED
    assert record.response == "Reliance Industries' revenue from operations in FY2024 was ₹9,74,864 crore [2]."
    assert record.workflow_trace["generation_attempts"] == 2
    assert record.workflow_trace["model"] == "extractive"
    streamed = "".join(f.data["content"] for f in frames if f.event == "token")
    assert streamed == record.response
