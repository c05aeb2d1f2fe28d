"""Finance-aware sentiment of a headline (plus summary), offline and deterministic.

Method (documented in docs/ingestion.md):
1. Tokens are lower-cased words; numbers and percentages are ignored.
2. Direction words ("rises", "falls", "narrows", "widens", ...) are scored by the metric they
   move, found within four words either side: a rise in a good metric (profit, revenue,
   margin, dividend, orders) is positive, a rise in a bad one (loss, debt, costs, NPAs,
   attrition) is negative, and falls the other way round. "Loss narrows" is good news.
3. Other words are scored from a finance lexicon in the spirit of Loughran-McDonald (general
   sentiment dictionaries call "liability", "tax" or "crude" negative; a finance list does not).
4. A negation ("not", "no", "fails to", "without") within the three preceding words flips a hit.
5. The score is (pos - neg) / sqrt((pos - neg)^2 + 4), in (-1, 1); the label is positive at
   >= 0.2, negative at <= -0.2, neutral otherwise.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_WORD = re.compile(r"[a-z][a-z'&-]*")

GOOD_METRICS = frozenset(
    ["profit", "profits", "earnings", "revenue", "revenues", "sales", "income", "margin", "margins", "ebitda", "dividend", "dividends", "orders", "order", "book", "bookings", "growth", "demand", "volumes", "volume", "share", "shares", "stock", "price", "rating", "ratings", "guidance", "outlook", "market", "cap", "valuation", "pat", "eps", "deposits", "loans", "advances", "aum", "subscribers", "users", "exports", "output", "production"]
)
BAD_METRICS = frozenset(
    ["loss", "losses", "debt", "debts", "costs", "cost", "expenses", "npa", "npas", "npl", "defaults", "default", "attrition", "provisions", "provisioning", "slippages", "delinquencies", "churn", "deficit", "liabilities", "inflation", "borrowings", "leverage"]
)
UP = frozenset(
    ["rise", "rises", "rose", "risen", "rising", "jump", "jumps", "jumped", "surge", "surges", "surged", "soar", "soars", "soared", "climb", "climbs", "climbed", "gain", "gains", "gained", "grow", "grows", "grew", "increase", "increases", "increased", "up", "higher", "widen", "widens", "widened", "expand", "expands", "expanded", "improve", "improves", "improved", "doubles", "doubled", "triples", "tripled", "accelerates", "beat", "beats"]
)
DOWN = frozenset(
    ["fall", "falls", "fell", "fallen", "falling", "drop", "drops", "dropped", "decline", "declines", "declined", "slump", "slumps", "slumped", "plunge", "plunges", "plunged", "sink", "sinks", "sank", "tumble", "tumbles", "tumbled", "slide", "slides", "slid", "dip", "dips", "dipped", "decrease", "decreases", "decreased", "down", "lower", "narrow", "narrows", "narrowed", "shrink", "shrinks", "shrank", "contract", "contracts", "contracted", "cut", "cuts", "slows", "slowed", "halves", "halved", "eases", "eased"]
)
POSITIVE = frozenset(
    ["record", "strong", "robust", "beat", "beats", "outperform", "outperforms", "upgrade", "upgraded", "upgrades", "bullish", "buy", "profitable", "profitability", "win", "wins", "won", "award", "awarded", "bags", "secures", "secured", "approval", "approved", "expansion", "milestone", "breakthrough", "resilient", "healthy", "upbeat", "optimistic", "recovery", "rebound", "rebounds", "boost", "boosts", "boosted", "stellar", "best", "exceeds", "exceeded", "surpasses", "surpassed", "accretive", "dividend", "bonus", "buyback", "raises", "raised", "tops", "topped"]
)
NEGATIVE = frozenset(
    ["weak", "miss", "misses", "missed", "underperform", "underperforms", "downgrade", "downgraded", "downgrades", "bearish", "sell", "fraud", "probe", "penalty", "penalised", "penalized", "fine", "fined", "lawsuit", "litigation", "default", "defaults", "bankruptcy", "insolvency", "impairment", "writedown", "write-off", "writeoff", "restatement", "resign", "resigns", "resigned", "resignation", "layoffs", "layoff", "strike", "shutdown", "outage", "recall", "warning", "warns", "warned", "concern", "concerns", "disappointing", "disappoints", "pressure", "headwinds", "volatile", "volatility", "uncertainty", "crisis", "scandal", "raid", "raids", "investigation", "violation", "breach", "delayed", "delay", "delays", "worst", "slowdown", "stress", "stressed", "pledge", "pledged", "ban", "banned", "suspends", "suspended", "fails", "failed"]
)
NEGATIONS = frozenset(["not", "no", "never", "without", "fails", "fail", "failed", "neither", "nor"])


@dataclass(frozen=True)
class Sentiment:
    label: str
    score: float


def score_sentiment(text: str) -> Sentiment:
    words = _WORD.findall(text.lower())
    total = 0.0
    used: set[int] = set()
    for i, word in enumerate(words):
        if word in UP or word in DOWN:
            direction = 1 if word in UP else -1
            metric = _nearest_metric(words, i)
            if metric is None:
                continue
            used.add(metric)
            good = words[metric] in GOOD_METRICS
            polarity = direction if good else -direction
            total += _negated(words, i) * polarity
            used.add(i)
    for i, word in enumerate(words):
        if i in used:
            continue
        if word in POSITIVE:
            total += _negated(words, i)
        elif word in NEGATIVE:
            total -= _negated(words, i)
    score = total / math.sqrt(total * total + 4.0)
    label = "positive" if score >= 0.2 else "negative" if score <= -0.2 else "neutral"
    return Sentiment(label=label, score=round(score, 4))


def _nearest_metric(words: list[str], at: int) -> int | None:
    for distance in range(1, 5):
        for j in (at - distance, at + distance):
            if 0 <= j < len(words) and (words[j] in GOOD_METRICS or words[j] in BAD_METRICS):
                return j
    return None


def _negated(words: list[str], at: int) -> int:
    window = words[max(0, at - 3):at]
    return -1 if any(w in NEGATIONS for w in window) else 1
