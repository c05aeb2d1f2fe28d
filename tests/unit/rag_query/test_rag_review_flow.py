"""A held answer on the in-process bus: rag-query keeps the job open while the answer waits
for a reviewer, and finishes the stream, the record and the job when ReviewResolved comes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from beacon_contracts.events import Envelope, ReviewResolved
from beacon_rag_query.domain import WITHHELD, WITHHELD_UNREVIEWED, QueryStatus
from beacon_runtime.llm.port import ChatModel, Completion, Prompt
from rag_harness import Run, start_harness

QUESTION = "Was there any fraud investigation at Reliance in FY2024?"
REVIEWED_AT = datetime(2024, 11, 25, 11, 0, tzinfo=UTC)
GRAPH_ORDER = ["router", "retrieve", "grade", "generate", "fact_check", "cite"]


async def resolve(harness, run: Run, decision: str, final: str | None = None, *,
                  reviewed_by: str = "rita@example.com", review_id: str | None = None) -> Run:
    review_id = review_id or run.of("ReviewRequired")[0].review_id
    resolved = ReviewResolved(review_id=review_id, query_id=run.query_id, decision=decision,
                              final_response=final, reviewed_by=reviewed_by, notes="checked",
                              reviewed_at=REVIEWED_AT)
    await harness.bus.publish(Envelope.wrap(resolved, correlation_id=run.query_id))
    await harness.bus.drain()
    return Run(run.query_id, [e for e in harness.seen if e.correlation_id == run.query_id])


async def test_a_sensitive_answer_is_held_and_the_job_stays_open(harness):
    run = await harness.ask(QUESTION, stream=True)
    record = await harness.repository.get(run.query_id)
    assert record.status is QueryStatus.HITL_PENDING
    assert record.response is None and "No material fraud" in record.generated_response
    review, = run.of("ReviewRequired")
    assert review.review_id == record.review_id and review.query_id == run.query_id
    assert review.owner == "7" and review.question == QUESTION
    assert "fraud" in review.reason and "investigation" in review.reason
    assert review.generated_response == record.generated_response
    assert [c["page_number"] for c in review.citations] == [88]
    assert review.workflow_state["nodes_executed"] == GRAPH_ORDER
    assert review.workflow_state["fact_check_result"]["is_faithful"] is True
    assert review.workflow_state["fact_check_result"]["confidence"] == 1.0
    # Nothing of the answer leaves before review, and the stream is not over.
    assert run.events("token") == [] and run.events("citation") == [] and run.events("done") == []
    last = run.frames[-1]
    assert last.event == "node" and last.data == {
        "node": "review", "status": "pending", "review_id": review.review_id,
        "reason": review.reason}
    assert record.frame_seq == last.seq + 1
    assert run.of("JobCompleted") == [], "the job ends with the review, not before"


@pytest.mark.parametrize(("decision", "final", "shown", "pages"), [
    ("approved", None, "generated", [88]),
    ("edited", "No material fraud was reported [1].", "No material fraud was reported [1].", [88]),
    ("edited", "The auditors reported no material fraud.", "The auditors reported no material fraud.", []),
    ("rejected", None, WITHHELD, []),
])
async def test_the_review_completes_the_query_and_the_stream(harness, decision, final, shown, pages):
    held = await harness.ask(QUESTION, stream=True)
    generated = (await harness.repository.get(held.query_id)).generated_response
    shown = generated if shown == "generated" else shown
    run = await resolve(harness, held, decision, final)

    record = await harness.repository.get(run.query_id)
    assert record.status is QueryStatus.COMPLETED and record.response == shown
    assert [c["page_number"] for c in record.citations] == pages
    assert record.review["decision"] == decision and record.review["reviewed_by"] == "rita@example.com"
    assert record.completed_at == REVIEWED_AT, "when the reviewer decided, as hitl recorded it"
    assert record.generated_response == generated, "what was generated is kept"

    frames = run.frames
    assert [f.seq for f in frames] == list(range(len(frames))), "one stream, no gap, no repeat"
    after = frames[record.frame_seq:]
    assert [f.event for f in after] == ["node", "token"] + ["citation"] * len(pages) + ["done"]
    assert after[0].data == {"node": "review", "status": "completed", "review_id": record.review_id,
                             "decision": decision, "reviewed_by": "rita@example.com"}
    assert after[1].data == {"content": shown}
    assert [f.data["page_number"] for f in after if f.event == "citation"] == pages
    assert after[-1].data == {"id": run.query_id, "latency_ms": record.latency_ms,
                              "status": "completed",
                              "review": {"decision": decision, "reviewed_by": "rita@example.com"}}
    completed, = run.of("JobCompleted")
    assert completed.outcome == "completed"
    assert completed.result == {"id": run.query_id, "status": "completed"}


async def test_a_redelivered_resolution_repeats_the_same_frames_and_nothing_else(harness):
    held = await harness.ask(QUESTION)
    first = await resolve(harness, held, "approved")
    again = await resolve(harness, held, "rejected")  # a stale copy cannot change the outcome
    record = await harness.repository.get(held.query_id)
    assert record.review["decision"] == "approved"
    frames = {(f.seq, f.event, str(f.data)) for f in again.frames}
    assert frames == {(f.seq, f.event, str(f.data)) for f in first.frames}, "same seqs, same data"
    assert len(again.of("JobCompleted")) == 2 and {c.outcome for c in again.of("JobCompleted")} == {"completed"}


async def test_an_expired_review_withholds_the_answer_and_says_why(harness):
    held = await harness.ask(QUESTION)
    await resolve(harness, held, "rejected", reviewed_by="system")
    record = await harness.repository.get(held.query_id)
    assert record.status is QueryStatus.COMPLETED and record.response == WITHHELD_UNREVIEWED


async def test_a_resolution_for_another_review_is_ignored(harness):
    held = await harness.ask(QUESTION)
    run = await resolve(harness, held, "approved", review_id="not-this-review")
    assert (await harness.repository.get(held.query_id)).status is QueryStatus.HITL_PENDING
    assert run.of("JobCompleted") == []


async def test_a_redelivered_request_for_a_held_answer_asks_for_the_same_review_again(harness):
    held = await harness.ask(QUESTION)
    again = await harness.ask(QUESTION, query_id=held.query_id)
    first, second = again.of("ReviewRequired")
    assert first == second, "same review id, same content: hitl keeps one review"
    assert again.of("JobStarted") == held.of("JobStarted"), "the question is not answered again"
    assert again.of("JobCompleted") == []
    pending = [f for f in again.frames if f.data.get("node") == "review"]
    assert len({(f.seq, str(f.data)) for f in pending}) == 1


class DraftModel(ChatModel):
    """Streams an answer whose second sentence nothing supports: held for weak support."""

    name = "draft"
    text = ("Revenue from operations for FY2024 was ₹9,74,864 crore [1]. "
            "The company plans to enter the airline business.")

    async def complete(self, prompt: Prompt) -> Completion:
        return Completion(text=self.text, model=self.name, input_tokens=1, output_tokens=1)

    async def stream(self, prompt: Prompt):
        for word in self.text.split(" "):
            yield word + " "


async def test_a_streamed_draft_is_replaced_by_the_reviewed_text_not_repeated():
    async for h in start_harness(chat_model=DraftModel(), faithfulness_threshold=0.9):
        held = await h.ask("What was Reliance's revenue in FY2024?", stream=True)
        assert held.streamed_text.strip() == DraftModel.text, "the draft went out before the check"
        assert (await h.repository.get(held.query_id)).status is QueryStatus.HITL_PENDING
        run = await resolve(h, held, "edited", "Revenue was ₹9,74,864 crore [1].")
        record = await h.repository.get(held.query_id)
        after = run.frames[record.frame_seq:]
        assert [f.event for f in after] == ["node", "citation", "done"]
        assert after[0].data["response"] == "Revenue was ₹9,74,864 crore [1]."
