"""Does the answer address the question? A score apart from faithfulness.

A faithful answer can still miss the point: quoting "The Board declared an interim dividend"
for a question about risks is faithful and useless. Relevance is

    topic × form × (0.5 + 0.5 × scope)

- topic: the share of the question's topic words the answer covers (filing vocabulary
  counts: "turnover" is covered by "revenue from operations"); for a figure question whose
  figure the answer states, the words that named the line item count as covered;
- form: a figure question answered with a figure scores 1, without one 0.4; otherwise the
  share of the answer's sentences that are prose rather than headings or table rows;
- scope: the share of the asked companies and periods the answer (or what it cites) is about.

None when the answer makes no claim (a refusal, nothing found). Pure.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from beacon_rag_query.answerer import is_prose
from beacon_rag_query.domain import Evidence
from beacon_rag_query.factcheck import FactCheck
from beacon_rag_query.asked import Asked, FigureQuestion
from beacon_rag_query.text import content_terms, sentences, strip_markers
from beacon_rag_query.vocabulary import coverage

# Words of a question that ask, rather than say what about.
_ASKING = frozenset(content_terms(
    "main key major important significant highlight highlights highlighted mention mentioned "
    "discuss discussed say said state stated disclose disclosed talk provide provided detail "
    "details summary summarise summarize overview much many value figure number amount know "
    "find look according list name compare comparison versus vs"
))
# Words with which a figure question asks for its figure ("How much did it spend on R&D",
# "How fast did revenue grow", "in dollars"): an answer that states the figure has answered
# them, though it does not repeat them.
_ASKING_FOR_A_FIGURE = frozenset(content_terms(
    "earn earned earning spend spent spending pay paid incur incurred dollars dollar rupees "
    "rupee change changed compared same percent percentage fast grow grew growth rise fall "
    "increase decrease minus less plus latest hold held have had carry carried report reported "
    "raise raised use used generate generated record recorded post posted make made"
))


def relevance(
    question: FigureQuestion,
    fact: FactCheck,
    cited: Sequence[Evidence],
    *,
    company_names: Collection[str] = (),
) -> float | None:
    """`question.terms` are the topic words (names and period words already removed)."""
    if not fact.claims:
        return None
    answer = strip_markers(fact.response)
    answer_terms = content_terms(answer)
    states_figure = any(c.supported_numbers for c in fact.claims if c.supported)
    wanted = {t for t in question.terms if t not in _ASKING}
    if question.is_figure and states_figure:
        wanted -= set(question.named) | _ASKING_FOR_A_FIGURE
    topic = coverage(wanted, answer_terms) if wanted else 1.0
    if question.is_figure:
        form = 1.0 if states_figure else 0.4
    else:
        kept = [s for s in sentences(answer) if any(ch.isalnum() for ch in s)]
        form = sum(is_prose(s) for s in kept) / len(kept) if kept else 0.0
    parts = []
    if question.companies:
        cited_symbols = {e.company_symbol for e in cited}
        lowered = answer.lower()
        parts.append(sum(
            symbol in cited_symbols or any(n.lower() in lowered for n in company_names)
            for symbol in question.companies
        ) / len(question.companies))
    if question.periods:
        parts.append(sum(_period_covered(p, answer, cited) for p in question.periods)
                     / len(question.periods))
    scope = sum(parts) / len(parts) if parts else 1.0
    return round(topic * form * (0.5 + 0.5 * scope), 4)


def _period_covered(period: Asked, answer: str, cited: Sequence[Evidence]) -> bool:
    lowered = answer.lower()
    if period.fiscal is None:
        return str(period.end_year) in answer
    if any(v.lower() in lowered for v in period.fiscal.text_variants()):
        return True
    return any(e.fiscal_period == period.label for e in cited)
