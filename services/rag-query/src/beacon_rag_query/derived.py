"""The figures an answer states, and the arithmetic of derived metrics.

`find_figures` looks up, for every company (and period) a question asks about, the line
item (`figures.py`), or computes the derived metric from the line items it needs, with the
formula and its inputs: growth (the same row's previous period, another filing's, else a
rate the filing states), CAGR, ratios and days (`lineitems.RATIOS`), free cash flow. A ratio
or free cash flow the filing prints itself is taken as printed. Both the offline answerer
and the model's prompt are built from the result. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from beacon_rag_query.asked import Asked, FigureQuestion
from beacon_rag_query.domain import Evidence
from beacon_rag_query.figures import Figure, Lookup, Sourced, evidence_rows, find_in_prose, find_item
from beacon_rag_query.lineitems import BY_KEY, LineItem, Ratio
from beacon_rag_query.periods import period_from_label
from beacon_rag_query.text import indian_grouping


@dataclass(frozen=True)
class Computation:
    """A derived number with the formula and the figures it was computed from."""

    company: str | None
    name: str  # "revenue growth", "net profit margin"
    value: float
    text: str  # "4.6%", "1.98 times", "73 days"
    formula: str  # "(20,158 − 19,277) / 19,277"
    inputs: tuple[Figure, ...]
    period: str

    @property
    def evidence(self) -> list[int]:
        return list(dict.fromkeys(f.evidence for f in self.inputs))


@dataclass
class FigureAnswer:
    question: FigureQuestion
    figures: list[Figure] = field(default_factory=list)
    computations: list[Computation] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # companies or periods nothing was found for

    @property
    def found(self) -> bool:
        return bool(self.figures or self.computations)

    def facts(self, names: Mapping[str, str] | None = None) -> list[str]:
        """The figures as data lines for a model's prompt, each with its passage marker."""
        names = names or {}
        lines = []
        for f in self.figures:
            scope = f" ({f.scope})" if f.scope else ""
            who = names.get(f.company or "") or f.company or "the company"
            what = "growth of " if f.change else ""
            lines.append(f"[{f.evidence}] {who}: {what}{f.label}{scope}, {f.period}: {f.text}")
        for c in self.computations:
            cited = ", ".join(f"[{i}]" for i in c.evidence)
            who = names.get(c.company or "") or c.company or "the company"
            lines.append(f"computed from {cited}: {who} {c.name}, {c.period}: {c.text} = {c.formula}")
        return lines


def find_figures(question: FigureQuestion, evidence: Sequence[Evidence], names: Mapping[str, str]) -> FigureAnswer:
    """Figures and computations for every company (and period) the question asks about."""
    answer = FigureAnswer(question)
    if not question.is_figure:
        return answer
    finder = _Finder(question, evidence_rows(evidence), evidence)
    for company in list(question.companies) or [None]:
        finder.answer_for(company, names.get(company or "", company), answer)
    return answer


class _Finder:
    def __init__(self, question: FigureQuestion, rows: list[Sourced], evidence: Sequence[Evidence]) -> None:
        self.q, self.rows, self.evidence = question, rows, evidence

    def lookup(self, item: LineItem | None, company: str | None, period: Asked | None, *,
               own_words: bool = True, change: bool = False, percent: bool | None = None) -> Figure | None:
        """A statement row first (the asked scope, then any), then a sentence, then the sum
        of the item's parts. `own_words`: the question's words name this item (not an input
        of a ratio, whose question words name the ratio)."""
        q = self.q
        base = Lookup(item, q.terms if own_words else frozenset(), q.named if own_words else frozenset(),
                      company, period, q.scope, q.diluted, change, percent, entity=q.entity)
        figure = find_item(base, self.rows)
        if figure is None and q.scope is not None:
            figure = find_item(replace(base, scope=None), self.rows)
        if figure is None:
            figure = find_in_prose(base, self.evidence, percent=change)
        if figure is None and item is not None and item.parts and not change:
            figure = self._sum_of_parts(item, company, period)
        return figure

    def _sum_of_parts(self, item: LineItem, company: str | None, period: Asked | None) -> Figure | None:
        parts = [find_item(Lookup(BY_KEY[k], company=company, period=period, scope=self.q.scope), self.rows)
                 for k in item.parts]
        found = [p for p in parts if p is not None]
        if len(found) < 2:
            return None
        total = sum(p.value for p in found)
        first = found[0]
        number = format_like(total, first.number)
        return replace(first, item=item.name, label=item.name, value=total,
                       text=first.unit.render(number) if first.unit else number, number=number)

    def answer_for(self, company: str | None, who: str | None, answer: FigureAnswer) -> None:
        q = self.q
        periods: list[Asked | None] = list(q.periods_of(company)) or [None]
        if q.kind == "growth":
            self.growth(company, who, answer)
        elif q.kind == "cagr":
            self.cagr(company, who, answer)
        elif q.kind in ("line_item", "free_cash_flow", "ratio"):
            for period in periods:
                found = self._one(company, period)
                if found is None:
                    answer.missing.append(_missing(who, period))
                elif isinstance(found, Computation):
                    answer.computations.append(found)
                else:
                    answer.figures.append(found)

    def _one(self, company: str | None, period: Asked | None) -> Figure | Computation | None:
        q = self.q
        if q.kind in ("line_item", "free_cash_flow"):
            item = q.item if q.kind == "line_item" else BY_KEY["free_cash_flow"]
            found = self.lookup(item, company, period)
            return found if found is not None or item is None else self.computed(item, company, period)
        assert q.ratio is not None
        # A margin the filing prints, as a percentage ("Total gross margin percentage 44.5 %"),
        # not the amount printed under the margin's name ("Total gross margin 36,413").
        printed = self.lookup(_printed(q.ratio), company, period, percent=q.ratio.kind == "percent")
        if printed is not None and printed.percent == (q.ratio.kind == "percent"):
            return printed
        return self.ratio(q.ratio, company, period)

    def growth(self, company: str | None, who: str | None, answer: FigureAnswer) -> None:
        item = self.q.item
        asked = list(self.q.periods_of(company))
        if len(asked) >= 2:
            ordered = sorted(asked, key=lambda a: a.sort_key)
            pairs = [(ordered[-1], ordered[0])]
        elif asked:
            pairs = [(asked[0], asked[0].year_ago())]
        else:
            pairs = [(None, None)]
        for current_period, base_period in pairs:
            current = self.lookup(item, company, current_period)
            if current is None:
                answer.missing.append(_missing(who, current_period))
                continue
            if base_period is None:
                base_period = _year_ago_of(current)
            base = self.lookup(item, company, base_period) if base_period else None
            if base is not None and _misread_base(base, current):
                base = None
            if base is None or base.value == 0 or base.evidence == current.evidence and base.value == current.value:
                stated_period = current_period or (Asked.of(p) if (p := period_from_label(current.period_label or ""))
                                                   else None)
                stated = self.lookup(item, company, stated_period, change=True)
                if stated is not None:
                    answer.figures.append(stated)
                else:
                    answer.figures.append(current)
                    answer.missing.append(_missing(who, base_period))
                continue
            value = (current.value - base.value) / abs(base.value) * 100
            answer.computations.append(Computation(
                company=current.company, name=f"{current.item} growth", value=value,
                text=f"{value:.1f}%", formula=f"({current.number} − {base.number}) / {base.number}",
                inputs=(current, base),
                period=f"{current.period_label or current.period} over {base.period_label or base.period}",
            ))

    def cagr(self, company: str | None, who: str | None, answer: FigureAnswer) -> None:
        asked = sorted(self.q.periods_of(company), key=lambda a: a.sort_key)
        if len(asked) >= 2:
            start_period, end_period = asked[0], asked[-1]
        elif asked and self.q.years:
            end_period = asked[0]
            start_period = end_period.years_before(self.q.years)
        else:
            answer.missing.append(_missing(who, asked[0] if asked else None))
            return
        end = self.lookup(self.q.item, company, end_period)
        start = self.lookup(self.q.item, company, start_period)
        years = end_period.end_year - start_period.end_year
        if end is None or start is None or years <= 0 or start.value <= 0 or end.value <= 0:
            answer.missing.append(_missing(who, start_period if start is None else end_period))
            answer.figures += [f for f in (end, start) if f is not None]
            return
        value = ((end.value / start.value) ** (1 / years) - 1) * 100
        answer.computations.append(Computation(
            company=end.company, name=f"{end.item} CAGR", value=value, text=f"{value:.1f}%",
            formula=f"({end.number} / {start.number})^(1/{years}) − 1", inputs=(end, start),
            period=f"{start_period.label} to {end_period.label}",
        ))

    def computed(self, item: LineItem, company: str | None, period: Asked | None) -> Computation | None:
        """An item no row states, from the items it is made of (EBITDA: operating profit +
        depreciation and amortisation), when every one of them is found."""
        if not item.computed:
            return None
        terms = [self.lookup(BY_KEY[key], company, period, own_words=False) for key, _ in item.computed]
        if any(t is None for t in terms):
            return None
        first, *rest = terms
        assert first is not None
        value, formula = first.value, first.number
        for term, (_, sign) in zip(rest, item.computed[1:], strict=True):
            assert term is not None
            value += sign * abs(term.value)
            formula += f" {'+' if sign > 0 else '−'} {term.number.lstrip('-').strip('()')}"
        number = format_like(value, first.number)
        return Computation(
            company=first.company, name=item.name, value=value,
            text=first.unit.render(number) if first.unit else number,
            formula=formula, inputs=tuple(t for t in terms if t is not None), period=first.period,
        )

    def ratio(self, ratio: Ratio, company: str | None, period: Asked | None) -> Computation | None:
        top = self.lookup(BY_KEY[ratio.numerator], company, period, own_words=False)
        bottom = self.lookup(BY_KEY[ratio.denominator], company, period, own_words=False)
        if top is None or bottom is None:
            return None
        inputs = [top, bottom]
        numerator, top_text = top.value, top.number
        for key, sign in ((ratio.extra, 1), (ratio.less, -1)):
            if key is None:
                continue
            term = self.lookup(BY_KEY[key], company, period, own_words=False)
            if term is None:
                return None
            inputs.append(term)
            numerator += sign * term.value
            top_text = f"({top_text} {'+' if sign > 0 else '−'} {term.number})"
        denominator, bottom_text = bottom.value, bottom.number
        name = ratio.name
        if self.q.average:
            # "return on average equity": a balance is averaged over its opening and closing dates.
            wanted = found = 0
            if BY_KEY[ratio.numerator].point and not (ratio.extra or ratio.less):
                numerator, top_text, opening = self._averaged(ratio.numerator, top, company, period)
                wanted, found = wanted + 1, found + bool(opening)
                inputs += [opening] if opening else []
            if BY_KEY[ratio.denominator].point:
                denominator, bottom_text, opening = self._averaged(ratio.denominator, bottom, company, period)
                wanted, found = wanted + 1, found + bool(opening)
                inputs += [opening] if opening else []
            if found < wanted:
                name = f"{ratio.name} (on the closing balance: the opening balance was not found)"
            elif found:
                name = f"{ratio.name} on average balances"
        if denominator == 0:
            return None
        value = numerator / denominator
        formula = f"{top_text} / {bottom_text}"
        decimals = self.q.decimals
        if ratio.kind == "percent":
            value *= 100
            text = f"{value:.{1 if decimals is None else decimals}f}%"
        elif ratio.kind == "days":
            value *= 365
            text = f"{value:.{0 if decimals is None else decimals}f} days"
            formula += " × 365"
        else:
            text = f"{value:.{2 if decimals is None else decimals}f} times"
        return Computation(company=top.company, name=name, value=value, text=text, formula=formula,
                           inputs=tuple(inputs), period=top.period)

    def _averaged(self, key: str, closing: Figure, company: str | None,
                  period: Asked | None) -> tuple[float, str, Figure | None]:
        """The mean of a balance at the period's end and a year earlier, with its formula; the
        closing balance alone when the opening one is not among the passages."""
        earlier = period.year_ago() if period is not None else _year_ago_of(closing)
        opening = self.lookup(BY_KEY[key], company, earlier, own_words=False) if earlier else None
        if opening is None or (opening.value == closing.value and opening.evidence == closing.evidence):
            return closing.value, closing.number, None
        return (closing.value + opening.value) / 2, f"(({closing.number} + {opening.number}) / 2)", opening


def _misread_base(base: Figure, current: Figure) -> bool:
    """A one-digit "year before" against a figure of four digits or more is a note number or a
    footnote mark read as a cell ("(56,517 − 1) / 1"), not a year-ago amount."""
    digits = len(re.sub(r"\D", "", base.number.split(".")[0]))
    return digits <= 1 and len(re.sub(r"\D", "", current.number.split(".")[0])) >= 4


def _printed(ratio: Ratio) -> LineItem:
    """The ratio as a line item: filings often print margins and ratios themselves."""
    return LineItem(f"printed_{ratio.key}", ratio.name, ratio.asked, (ratio.asked,))


def _year_ago_of(figure: Figure) -> Asked | None:
    if figure.asked is not None:
        return figure.asked.year_ago()
    period = period_from_label(figure.period_label) if figure.period_label else None
    return Asked.of(period).year_ago() if period is not None else None


def _missing(who: str | None, period: Asked | None) -> str:
    return " ".join(p for p in (who, period.label if period else None) if p) or "the question"


def format_like(value: float, example: str) -> str:
    """A computed amount written the way the filing writes its numbers."""
    decimals = len(example.split(".")[1]) if "." in example else 0
    magnitude = abs(value)
    whole = int(round(magnitude)) if decimals == 0 else int(magnitude)
    if "," in example and _indian(example):
        digits = indian_grouping(whole)
    elif "," in example:
        digits = f"{whole:,}"
    else:
        digits = str(whole)
    if decimals:
        digits = f"{digits}.{f'{magnitude:.{decimals}f}'.split('.')[1]}"
    return f"-{digits}" if value < 0 else digits


def _indian(number: str) -> bool:
    groups = number.split(".")[0].split(",")
    return len(groups) > 2 and all(len(g) == 2 for g in groups[1:-1])
