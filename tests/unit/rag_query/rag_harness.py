"""A small synthetic filing set and a harness that runs rag-query on the in-process bus.

(A module of its own, not conftest.py, so tests can import it by a unique name.)

The passages are written for these tests (figures in the style of Indian filings, not quoted
from real reports); each sits on a known page, so a test can check the page it cites.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date

from beacon_contracts.commands import AnswerQuestion
from beacon_contracts.events import Envelope, QueryFrame
from beacon_contracts.search import SearchHit
from beacon_rag_query.answerer import ExtractiveAnswerer
from beacon_rag_query.bootstrap import build
from beacon_rag_query.domain import Company
from beacon_rag_query.frames import CancelRegistry
from beacon_rag_query.repository import InMemoryQueryRepository
from beacon_rag_query.settings import RagQuerySettings
from beacon_rag_query.sources import InMemoryCatalogue, InMemoryFundamentals, InMemoryPassageSearch
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.bus.port import RetryPolicy
from beacon_runtime.llm.port import ChatModel

TODAY = date(2024, 11, 25)

CATALOGUE = [
    Company("RELIANCE.NS", "Reliance Industries Ltd.", "RELIANCE", "Energy"),
    Company("TCS.NS", "Tata Consultancy Services Ltd.", "TCS", "Information Technology"),
    Company("INFY.NS", "Infosys Ltd.", "INFY", "Information Technology"),
    Company("HDFCBANK.NS", "HDFC Bank Ltd.", "HDFCBANK", "Financial Services"),
]


def hit(chunk, doc, title, symbol, doc_type, period, page, text):
    return SearchHit(chunk_id=chunk, document_id=doc, document_title=title, company_symbol=symbol,
                     doc_type=doc_type, fiscal_period=period, page_number=page, text=text, score=0)


RIL24 = "Reliance Industries Annual Report FY2024"
RIL23 = "Reliance Industries Annual Report FY2023"
TCS24 = "TCS Annual Report FY2024"
INFY24 = "Infosys Annual Report FY2024"
HDFC = "HDFC Bank Q3FY25 Results"

PASSAGES = [
    hit("ril24-12", 123, RIL24, "RELIANCE.NS", "annual_report", "FY2024", 12,
        "Chairman's letter. Our teams delivered another year of progress across energy, retail "
        "and digital services. We remain committed to growth and to the communities we serve."),
    hit("ril24-45", 123, RIL24, "RELIANCE.NS", "annual_report", "FY2024", 45,
        "Financial performance. Total revenue from operations for FY2024 was ₹9,74,864 crore, "
        "an increase of 2.6% over the previous year. The growth was led by the retail and "
        "digital services segments."),
    hit("ril24-46", 123, RIL24, "RELIANCE.NS", "annual_report", "FY2024", 46,
        "Net profit for FY2024 was ₹79,020 crore, up 7.3% from the previous year. EBITDA "
        "rose to ₹1,78,677 crore, reflecting higher margins in digital services."),
    hit("ril24-88", 123, RIL24, "RELIANCE.NS", "annual_report", "FY2024", 88,
        "Risk management. The Audit Committee reviews the risk of fraud and the status of any "
        "regulatory investigation. No material fraud was reported by the auditors during FY2024."),
    hit("ril23-40", 122, RIL23, "RELIANCE.NS", "annual_report", "FY2023", 40,
        "Total revenue from operations for FY2023 was ₹9,50,100 crore, an increase of 25.6% "
        "over the previous year."),
    hit("tcs24-30", 200, TCS24, "TCS.NS", "annual_report", "FY2024", 30,
        "Revenue from operations grew 6.8% to ₹2,40,893 crore in FY2024. Operating margin "
        "was 24.6%, and the order book remained strong."),
    hit("tcs24-31", 200, TCS24, "TCS.NS", "annual_report", "FY2024", 31,
        "The total headcount was 6,01,546 employees at the end of FY2024, with attrition "
        "of 12.5%."),
    hit("infy24-25", 300, INFY24, "INFY.NS", "annual_report", "FY2024", 25,
        "Infosys reported revenue of ₹1,53,670 crore in FY2024, a growth of 4.7% over "
        "FY2023. Operating margin was 20.7%."),
    hit("hdfc-q3-3", 400, HDFC, "HDFCBANK.NS", "quarterly_result", "Q3FY25", 3,
        "Net profit for the quarter ended December 31, 2024 was ₹16,736 crore, up 2.2% "
        "year on year. Total deposits grew 15.8% to ₹25.6 lakh crore."),
]

FUNDAMENTALS = {
    "INFY.NS": [
        {"period": "Q2FY25", "period_type": "quarterly", "period_end_date": "2024-09-30",
         "revenue": 409860000000, "net_income": 64300000000, "eps": 15.54, "pe_ratio": 28.4,
         "roe": 0.31, "debt_to_equity": 0.09},
    ],
}


@dataclass
class Run:
    """Everything the bus carried for one question."""

    query_id: str
    envelopes: list[Envelope] = field(default_factory=list)

    def of(self, type_name: str) -> list:
        return [e.parse() for e in self.envelopes if e.type == type_name]

    @property
    def frames(self) -> list[QueryFrame]:
        return sorted(
            (f for f in self.of("QueryFrame") if f.query_id == self.query_id), key=lambda f: f.seq
        )

    def events(self, kind: str) -> list[dict]:
        return [f.data for f in self.frames if f.event == kind]

    @property
    def streamed_text(self) -> str:
        return "".join(d["content"] for d in self.events("token"))


@dataclass
class Harness:
    bus: InMemoryBus
    repository: InMemoryQueryRepository
    seen: list[Envelope]
    cancels: CancelRegistry

    async def ask(self, question: str, *, filters: dict | None = None, stream: bool = True,
                  owner: str = "7", query_id: str | None = None) -> Run:
        query_id = query_id or str(uuid.uuid4())
        await self.publish_request(question, filters=filters, stream=stream, owner=owner,
                                   query_id=query_id)
        await self.bus.drain()
        return Run(query_id, [e for e in self.seen if e.correlation_id == query_id])

    async def publish_request(self, question: str, *, query_id: str, filters=None, stream=True,
                              owner: str = "7") -> None:
        request = AnswerQuestion(job_id=query_id, owner=owner, question=question,
                                 filters=filters, stream=stream)
        await self.bus.publish(Envelope.wrap(request, correlation_id=query_id))


async def start_harness(
    chat_model: ChatModel | None = None, passages=PASSAGES, search=None, **settings
) -> AsyncIterator[Harness]:
    bus = InMemoryBus(retry=RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.01))
    repository = InMemoryQueryRepository()
    seen: list[Envelope] = []

    async def observe(envelope: Envelope) -> None:
        seen.append(envelope)

    bus.subscribe("test-observer", ["#"], observe)
    cancels = CancelRegistry()
    service = build(RagQuerySettings(**settings),
                    Adapters(bus=bus, chat_model=chat_model or ExtractiveAnswerer()),
                    search=search or InMemoryPassageSearch(passages),
                    catalogue=InMemoryCatalogue(CATALOGUE),
                    fundamentals=InMemoryFundamentals(FUNDAMENTALS), repository=repository,
                    instance_id="test", today=lambda: TODAY, cancels=cancels)
    await service.start()
    await bus.start()
    try:
        yield Harness(bus, repository, seen, cancels)
    finally:
        await bus.stop()
        await service.stop()
