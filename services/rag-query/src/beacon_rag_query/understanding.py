"""Query understanding: which companies and fiscal periods a question is about, which route
answers it, and whether it touches a sensitive topic. Pure and deterministic.

Retrieving from the wrong filing is the largest loss measured on financial QA (FACTS.md), so
the filters found here matter more than the retriever behind them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from beacon_rag_query.domain import Company, QueryFilters, Route
from beacon_rag_query.periods import FiscalPeriod, on_calendar, parse_periods, period_from_label

# Well-known short names, keyed by NSE symbol; used only for companies in the catalogue.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "RELIANCE": ("RIL", "Reliance"),
    "INFY": ("Infy", "Infosys"),
    "TCS": ("Tata Consultancy", "TCS"),
    "HINDUNILVR": ("HUL", "Hindustan Unilever"),
    "SBIN": ("SBI", "State Bank"),
    "LT": ("L&T", "Larsen", "Larsen and Toubro"),
    "M&M": ("M&M", "Mahindra"),
    "BHARTIARTL": ("Airtel", "Bharti Airtel"),
    "KOTAKBANK": ("Kotak", "Kotak Bank"),
    "ICICIBANK": ("ICICI", "ICICI Bank"),
    "HDFCBANK": ("HDFC Bank",),
    "HDFCLIFE": ("HDFC Life",),
    "BAJFINANCE": ("Bajaj Finance",),
    "BAJAJFINSV": ("Bajaj Finserv",),
    "MARUTI": ("Maruti", "Maruti Suzuki"),
    "SUNPHARMA": ("Sun Pharma",),
    "ULTRACEMCO": ("UltraTech", "Ultratech Cement"),
    "ETERNAL": ("Zomato",),
    "ADANIPORTS": ("Adani Ports",),
    "ADANIENT": ("Adani Enterprises",),
    "HCLTECH": ("HCL", "HCL Tech"),
    "TECHM": ("Tech Mahindra",),
    "POWERGRID": ("Power Grid",),
    "COALINDIA": ("Coal India",),
    "TATASTEEL": ("Tata Steel",),
    "TATAMOTORS": ("Tata Motors",),
    "TMPV": ("Tata Motors",),
    "ASIANPAINT": ("Asian Paints",),
    "NESTLEIND": ("Nestle", "Nestle India"),
}

# Aliases that are also ordinary words match only when written with their capitals.
_COMMON_WORDS = frozenset({"eternal", "titan", "trent", "it", "lt", "bel", "power", "state"})
_LEGAL_SUFFIX = re.compile(r"[\s,]+(?:ltd\.?|limited|inc\.?|plc|corporation|corp\.?)\s*$", re.I)
_TOKEN = re.compile(r"[a-z0-9]+|&")


def _tokens(text: str) -> tuple[str, ...]:
    text = re.sub(r"['’]s\b", "", text.lower())
    return tuple(_TOKEN.findall(text))


def base_name(name: str) -> str:
    """A company's name without its legal suffix: "Infosys Ltd." -> "Infosys"."""
    base = name.strip()
    while (stripped := _LEGAL_SUFFIX.sub("", base)) != base:
        base = stripped
    return base


@dataclass(frozen=True)
class _Alias:
    tokens: tuple[str, ...]
    symbol: str
    proper: bool  # also an ordinary word: must be written capitalised ("Eternal", "LT")


class CompanyMatcher:
    """Finds catalogue companies in text by symbol, NSE symbol, name, alias or nickname.

    Longer names win over shorter ones at the same place ("HDFC Bank" over "HDFC"), and an
    alias shared by several companies names none of them.
    """

    def __init__(self, companies: Iterable[Company]) -> None:
        self.companies = {c.symbol: c for c in companies}
        by_tokens: dict[tuple[str, ...], set[str]] = {}
        first_words = Counter(_tokens(base_name(c.name))[:1] for c in self.companies.values())
        for company in self.companies.values():
            for alias in self._aliases(company, first_words):
                tokens = _tokens(alias)
                if not tokens:
                    continue
                by_tokens.setdefault(tokens, set()).add(company.symbol)
        self._aliases_by_length: list[_Alias] = sorted(
            (
                _Alias(tokens, next(iter(symbols)), _needs_capitals(tokens))
                for tokens, symbols in by_tokens.items()
                if len(symbols) == 1
            ),
            key=lambda a: -len(a.tokens),
        )

    @staticmethod
    def _aliases(company: Company, first_words: Counter) -> list[str]:
        base = base_name(company.name)
        aliases = [company.symbol, company.name, base, *company.aliases]
        if company.nse_symbol:
            aliases.append(company.nse_symbol)
            aliases += NICKNAMES.get(company.nse_symbol.upper(), ())
        if " and " in base:
            aliases.append(base.replace(" and ", " & "))
        first = _tokens(base)[:1]
        if first and len(first[0]) >= 4 and first_words[first] == 1:
            aliases.append(base.split()[0])
        return aliases

    def find(self, text: str) -> list[str]:
        """Symbols named in `text`, in order of first mention."""
        tokens = _tokens(text)
        taken = [False] * len(tokens)
        found: list[tuple[int, str]] = []
        for alias in self._aliases_by_length:
            n = len(alias.tokens)
            for i in range(len(tokens) - n + 1):
                if tokens[i:i + n] != alias.tokens or any(taken[i:i + n]):
                    continue
                if alias.proper and not _written_capitalised(alias.tokens, text):
                    continue
                taken[i:i + n] = [True] * n
                found.append((i, alias.symbol))
        ordered: list[str] = []
        for _, symbol in sorted(found):
            if symbol not in ordered:
                ordered.append(symbol)
        return ordered

    def resolve(self, symbol: str) -> str | None:
        """A symbol as a request may give it ("RELIANCE", "reliance.ns") in catalogue form."""
        wanted = symbol.strip().upper()
        for company in self.companies.values():
            if wanted in (company.symbol.upper(), (company.nse_symbol or "").upper()):
                return company.symbol
        return None


def _needs_capitals(tokens: tuple[str, ...]) -> bool:
    return len("".join(tokens).replace("&", "")) <= 2 or " ".join(tokens) in _COMMON_WORDS


def _written_capitalised(tokens: tuple[str, ...], text: str) -> bool:
    """Short aliases ("LT", "M&M") in capitals, ordinary words with a capital initial."""
    short = len("".join(tokens).replace("&", "")) <= 2
    pattern = r"\s*".join(re.escape(t) for t in tokens)
    for m in re.finditer(rf"(?<![\w&]){pattern}(?![\w&])", text, re.IGNORECASE):
        written = m.group(0)
        if (short and written.upper() == written) or (not short and written[0].isupper()):
            return True
    return False


# ---- routes and topics -------------------------------------------------------------

_MARKET_DATA = re.compile(
    r"\b(p\s*/\s*e|pe\s+ratio|price[\s-]+to[\s-]+earnings|market\s+cap(?:itali[sz]ation)?|"
    r"share\s+price|stock\s+price|closing\s+price|eps|earnings\s+per\s+share|"
    r"debt[\s-]+to[\s-]+equity|return\s+on\s+equity|roe)\b",
    re.IGNORECASE,
)
_FINANCE = re.compile(
    r"\b(revenue|income|profit|loss|ebitda|margin|earnings|sales|turnover|dividend|debt|"
    r"assets?|liabilit\w*|cash|capex|expenditure|guidance|outlook|growth|segment|subsidiar\w*|"
    r"employees|headcount|risk|strategy|acquisition|merger|board|director|ceo|chairman|auditor|"
    r"filing|annual\s+report|quarter\w*|results?|fiscal|financial|shares?|stock|capital|"
    r"borrowing|order\s+book|deposits?|loans?|npa|provisions?|tax|fy\d*|compan(?:y|ies)|"
    # a quarter or half as filers label it ("Q3 2024", "3Q24", "H1 2024"): a reporting period
    r"[QH][1-4]\s*(?:fy)?\s*['’]?\d{2,4}|[1-4]Q\s*['’]?\d{2,4})\b",
    re.IGNORECASE,
)


def route_for(question: str, companies: Sequence[str], periods: Sequence[FiscalPeriod]) -> Route:
    """Rules, not a model: predictable, free, and easy to test. A question names neither a
    company nor anything financial is out of scope."""
    if companies and _MARKET_DATA.search(question):
        return Route.COMPANY_DATA
    if companies or periods or _FINANCE.search(question):
        return Route.VECTOR_STORE
    return Route.OUT_OF_SCOPE


def sensitive_topics(text: str, topics: Iterable[str]) -> list[str]:
    folded = " ".join(text.lower().split())
    return [t for t in topics if re.search(rf"(?<!\w){re.escape(t)}(?!\w)", folded)]


# ---- the whole reading of one question ---------------------------------------------


@dataclass(frozen=True)
class Understanding:
    question: str
    companies: tuple[str, ...]
    periods: tuple[FiscalPeriod, ...]
    document_types: tuple[str, ...]
    route: Route
    sensitive: tuple[str, ...] = ()
    company_names: tuple[str, ...] = field(default=())
    # Each named company's fiscal-year end month: `periods` are on their calendar when they
    # share one; a comparison across calendars reads each company's periods on its own.
    calendars: tuple[tuple[str, int], ...] = field(default=())

    def search_periods(self) -> list[str]:
        labels: list[str] = []
        for period in self.periods:
            for label in period.search_labels():
                if label not in labels:
                    labels.append(label)
        return labels

    def filters(self) -> dict:
        return {
            "company_symbols": list(self.companies),
            "fiscal_periods": [p.label for p in self.periods],
            # The dates each label stands for on the company's fiscal calendar.
            "period_dates": [{"label": p.label, "start": p.start.isoformat(), "end": p.end.isoformat()}
                             for p in self.periods],
            "document_types": list(self.document_types),
        }


def understand(
    question: str,
    request_filters: QueryFilters | None,
    matcher: CompanyMatcher,
    *,
    today: date,
    topics: Iterable[str] = (),
) -> Understanding:
    """Parse the question, then let each filter given with the request override its part."""
    companies = matcher.find(question)
    periods = parse_periods(question, today)
    document_types: list[str] = []
    if request_filters is not None:
        if request_filters.company_symbol:
            companies = [matcher.resolve(request_filters.company_symbol)
                         or request_filters.company_symbol.strip().upper()]
        if request_filters.fiscal_period:
            given = period_from_label(request_filters.fiscal_period)
            periods = [given] if given else periods
        if request_filters.document_types:
            document_types = list(request_filters.document_types)
    names = tuple(
        base_name(matcher.companies[s].name) for s in companies if s in matcher.companies
    )
    calendars = {matcher.companies[s].fiscal_year_end_month for s in companies if s in matcher.companies}
    if len(calendars) == 1:  # companies on different calendars keep the labels' default dates
        periods = on_calendar(list(periods), calendars.pop())
    return Understanding(
        question=question,
        companies=tuple(companies),
        periods=tuple(periods),
        document_types=tuple(document_types),
        route=route_for(question, companies, periods),
        sensitive=tuple(sensitive_topics(question, topics)),
        company_names=names,
        calendars=tuple((s, matcher.companies[s].fiscal_year_end_month) for s in companies
                        if s in matcher.companies),
    )
