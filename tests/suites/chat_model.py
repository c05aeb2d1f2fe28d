"""One contract for every chat model: the offline twins (report-writer's drafter,
rag-query's extractive answerer) and the OpenAI-compatible adapter against a real local
HTTP server. Run by tests/unit/contract (twins) and tests/integration/contract (adapter)."""

from __future__ import annotations

import pytest

from beacon_contracts.report_api import GenerateRequest
from beacon_report_writer.prompts import section_prompt
from beacon_runtime.llm.port import ChatModel, Completion

PROMPT = section_prompt(GenerateRequest(type="Technical_scope", customer_id="ACME",
                                        opportunity_id="OPP-1", section_title="Technology Stack"),
                        {})


@pytest.fixture
async def chat_model(backend, request) -> ChatModel:
    if backend == "offline-drafter":
        from beacon_report_writer.drafter import OfflineDrafter

        model: ChatModel = OfflineDrafter()
    elif backend == "extractive":
        from beacon_rag_query.answerer import ExtractiveAnswerer

        model = ExtractiveAnswerer()
    else:
        from beacon_runtime.llm.openai_compat import OpenAIChatModel

        base_url, _ = request.getfixturevalue("openai_server")
        model = OpenAIChatModel(base_url=base_url, api_key="k", model="report", timeout_s=10,
                                max_retries=0)
    yield model
    await model.close()


async def test_complete_answers_with_text_and_the_models_name(chat_model):
    completion = await chat_model.complete(PROMPT)
    assert isinstance(completion, Completion)
    assert completion.text.strip()
    assert completion.model and chat_model.name
    assert completion.input_tokens >= 0 and completion.output_tokens >= 0


async def test_the_stream_is_the_completion_in_pieces(chat_model):
    completion = await chat_model.complete(PROMPT)
    pieces = [piece async for piece in chat_model.stream(PROMPT)]
    assert len(pieces) > 1, "a stream that sends one piece streams nothing"
    assert all(isinstance(piece, str) and piece for piece in pieces)
    assert "".join(pieces) == completion.text


async def test_close_twice_is_harmless(chat_model):
    await chat_model.close()
    await chat_model.close()
