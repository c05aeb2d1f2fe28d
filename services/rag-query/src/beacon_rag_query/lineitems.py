"""The line items and derived metrics the answerer knows by name.

A `LineItem` says how questions ask for a figure ("top line", "turnover") and how statements
label it ("Revenue from operations", "Revenues", "Net sales"), best label first, plus labels
that look alike but are something else ("Unbilled revenue"). A `Ratio` is computed from line
items (net profit margin = net profit / revenue). Questions about items not listed here are
still answered when a row's label matches the question's own words (see `figures.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _re(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


@dataclass(frozen=True)
class LineItem:
    key: str
    name: str  # how an answer names it when the filing's label is not used
    asked: re.Pattern  # question wording
    labels: tuple[re.Pattern, ...]  # statement labels, best first
    exclude: re.Pattern | None = None
    point: bool = False  # a balance at a date (balance sheet), not a flow over a period
    parts: tuple[str, ...] = ()  # computed as the sum of these items when no row states it
    # Computed, with its formula, when no row states it: the first item plus (+1) or minus (−1)
    # the size of the others (free cash flow: operating cash flow − capital expenditure).
    computed: tuple[tuple[str, int], ...] = ()


# "Net cash provided by (used in) operating activities", "Net cash from operating activities"
_NET_CASH = (r"net cash (flows? )?(generated |provided |used )?(from|by|in|used in|\(used in\))"
             r"( \((used in|for|provided by|from)\))? ")

LINE_ITEMS: tuple[LineItem, ...] = (
    LineItem(
        "revenue", "revenue from operations",
        _re(r"\b(revenues?|turnover|top[\s-]?line|net sales|sales)\b"),
        (_re(r"^revenue from operations\b"), _re(r"^(total )?revenues?( from operations)?$"),
         _re(r"^total net sales\b"), _re(r"^net sales$"),
         _re(r"^(total )?income from operations\b"), _re(r"^(net )?sales\b"),
         _re(r"revenue from operations"), _re(r"^revenues?\b"), _re(r"\brevenues?$")),
        _re(r"unbilled|deferred|unearned|segment|per share|growth|%|other (operating )?income|"
            r"\bcost\b|receivable|in advance|share of|general|administrative|marketing"),
    ),
    LineItem(
        "total_income", "total income", _re(r"\btotal income\b"),
        (_re(r"^total income\b"), _re(r"\btotal income$")),
        _re(r"comprehensive|tax|expenses?"),
    ),
    LineItem(
        "other_income", "other income", _re(r"\bother income\b"),
        (_re(r"^other income\b"),), _re(r"comprehensive"),
    ),
    LineItem(
        "total_expenses", "total expenses", _re(r"\b(total expenses|total expenditure)\b"),
        (_re(r"^total expenses\b"), _re(r"^total expenditure\b")),
    ),
    LineItem(
        "cogs", "cost of goods sold",
        _re(r"\b(cost of (goods sold|sales|revenues?)|cogs)\b"),
        (_re(r"^cost of (goods sold|sales|revenues?)\b"), _re(r"\bcost of (goods sold|sales|revenues?)$")),
        parts=("materials", "purchases", "inventory_change"),
    ),
    LineItem("materials", "cost of materials consumed", _re(r"\bmaterials? consumed\b"),
             (_re(r"^cost of (raw )?materials? consumed\b"),)),
    LineItem("purchases", "purchases of stock-in-trade", _re(r"\bpurchases? of stock[\s-]in[\s-]trade\b"),
             (_re(r"^purchases? of stock[\s-]in[\s-]trade\b"),)),
    LineItem("inventory_change", "changes in inventories", _re(r"\bchanges? in inventor"),
             (_re(r"^changes? in inventor"),)),
    LineItem(
        "employee_cost", "employee benefits expense",
        _re(r"\b(employee (benefits? )?(expenses?|costs?)|staff costs?|personnel costs?|salar(y|ies))\b"),
        (_re(r"^employee benefits? expenses?\b"), _re(r"^employee (costs?|expenses?)\b"),
         _re(r"^(staff|personnel) costs?\b")),
    ),
    LineItem(
        "finance_cost", "finance costs",
        _re(r"\b(finance costs?|interest (expenses?|costs?)|borrowing costs?)\b"),
        (_re(r"^finance costs?\b"), _re(r"^interest (expenses?|costs?)\b")),
    ),
    LineItem(
        "depreciation", "depreciation and amortisation expense",
        _re(r"\b(depreciation|amorti[sz]ation|d\s?&\s?a)\b"),
        (_re(r"^depreciation(,| and) (depletion and )?amorti[sz]ation"), _re(r"^depreciation\b")),
    ),
    LineItem(
        "ebitda", "EBITDA", _re(r"\bebitda\b|operating profit before depreciation"),
        (_re(r"^ebitda\b"), _re(r"earnings before interest,? tax(es)?,? depreciation")),
        _re(r"margin|%"), computed=(("operating_profit", 1), ("depreciation", 1)),
    ),
    LineItem(
        "operating_profit", "operating profit",
        _re(r"\b(operating (profit|income)|ebit|(profit|income) from operations|results from operating)\b"),
        (_re(r"^operating (profit|income)\b"), _re(r"^(total )?income( \(loss\))? from operations\b"), _re(r"^ebit\b"), _re(r"^profit from operations\b"),
         _re(r"^results from operating activities\b")),
        _re(r"margin|%|before depreciation"),
    ),
    LineItem(
        "gross_profit", "gross profit", _re(r"\bgross profit\b"),
        (_re(r"^gross profit\b"), _re(r"^(total )?gross margin$")),
        _re(r"profit margin|margin\s*(%|percent|ratio|as)|%|percent"),
    ),
    LineItem(
        "pbt", "profit before tax",
        _re(r"\b(profit before (income )?tax(es|ation)?|pbt|pre[\s-]tax (profit|income)|earnings before tax|"
            r"income before (provision for )?income tax(es)?)\b"),
        (_re(r"^profit before (income )?tax(es|ation)?$"),
         _re(r"^income( \(loss\))? before (provision for )?(income )?tax(es)?\b"), _re(r"^profit(/\(loss\))? before (income )?tax"),
         _re(r"profit before (income )?tax")),
        _re(r"exceptional items and|margin|%"),
    ),
    LineItem(
        "tax", "tax expense",
        _re(r"\b(tax expenses?|income tax(es)?|tax charge|provision for tax)\b"),
        (_re(r"^total tax expenses?\b"), _re(r"^(income )?tax expenses?\b"), _re(r"^total income tax"),
         _re(r"^(\(?benefit\)? )?\(?provision\)?( \(benefit\))? for income taxes\b"),
         _re(r"^income tax (expense|provision)")),
        _re(r"before|deferred|current tax|rate|%"),
    ),
    LineItem(
        "net_profit", "net profit",
        _re(r"\b(net profit|profit after tax|pat|net income|net earnings|bottom[\s-]?line|"
            r"profit for the (year|period)|earnings|profits?)\b(?!\s+per)"),
        (_re(r"^(net )?profit for the (year|period)$"), _re(r"^net profit( for the (year|period))?$"),
         _re(r"^profit after tax(ation)?$"), _re(r"^net income$"),
         _re(r"^(net )?profit(/\(loss\))? for the (year|period)\b"), _re(r"^net profit\b"),
         _re(r"^profit after tax"), _re(r"^net income\b"), _re(r"profit for the (year|period)$")),
        _re(r"before|margin|%|per share|comprehensive|discontinued|attributable to non|"
            r"minority|share of|growth"),
    ),
    LineItem(
        "eps", "basic earnings per share",
        _re(r"\b(eps|earnings per (equity )?share|net income per share)\b"),
        (_re(r"^basic\b.*(eps|earnings per)|^(basic )?eps\b"), _re(r"^diluted\b.*(eps|earnings per)|^diluted eps\b"), _re(r"earnings per (equity )?share.*basic"),
         _re(r"^basic\b"), _re(r"^diluted$"), _re(r"(earnings|net income) per (equity )?share"), _re(r"\beps\b")),
    ),
    LineItem(
        "total_assets", "total assets", _re(r"\btotal assets\b|\bassets\b"),
        (_re(r"^total assets$"), _re(r"^total assets\b")), _re(r"current|liabilit"), point=True,
    ),
    LineItem(
        "current_assets", "total current assets", _re(r"\bcurrent assets\b"),
        (_re(r"^total current assets\b"), _re(r"^current assets$")), _re(r"non[\s-]current|other"),
        point=True,
    ),
    LineItem(
        "current_liabilities", "total current liabilities", _re(r"\bcurrent liabilities\b"),
        (_re(r"^total current liabilities\b"), _re(r"^current liabilities$")),
        _re(r"non[\s-]current|other"), point=True,
    ),
    LineItem(
        "total_liabilities", "total liabilities", _re(r"\btotal liabilities\b|\bliabilities\b"),
        (_re(r"^total liabilities$"),), _re(r"current|equity"), point=True,
    ),
    LineItem(
        "equity", "total equity",
        _re(r"\b(total equity|shareholders'? (equity|funds)|net worth|equity)\b"),
        (_re(r"^total equity$"), _re(r"^total equity attributable to (the )?(owners|equity holders|shareholders)"),
         _re(r"^equity attributable to (the )?(owners|equity holders|shareholders)"),
         _re(r"^total equity\b"), _re(r"^(total )?shareholders'? (equity|funds)"), _re(r"^net worth\b")),
        _re(r"liabilities|share capital|per share|non[\s-]controlling|return|ratio"), point=True,
    ),
    LineItem(
        "borrowings", "total borrowings",
        _re(r"\b(borrowings?|debt|loans? taken|total debt)\b"),
        (_re(r"^total (borrowings|debt)\b"), _re(r"^borrowings$"), _re(r"^(gross )?debt$")),
        _re(r"cost|ratio|repayment|proceeds|interest|equity"), point=True,
        parts=("borrowings_current", "borrowings_noncurrent"),
    ),
    LineItem("borrowings_noncurrent", "non-current borrowings", _re(r"\b(long[\s-]term|non[\s-]current) borrowings\b"),
             (_re(r"^(non[\s-]current )?borrowings$"), _re(r"^long[\s-]term borrowings")), point=True),
    LineItem("borrowings_current", "current borrowings", _re(r"\b(short[\s-]term|current) borrowings\b"),
             (_re(r"^short[\s-]term borrowings"), _re(r"^current borrowings")), point=True),
    LineItem(
        "cash", "cash and cash equivalents", _re(r"\bcash( and cash equivalents| balance|\b)"),
        (_re(r"^cash and cash equivalents\b"), _re(r"cash and cash equivalents$")),
        _re(r"flows?|\b(increase|decrease)|generated|used|beginning|end of"), point=True,
    ),
    LineItem("receivables", "trade receivables", _re(r"\b(trade |accounts? )?receivables?\b|debtors"),
             (_re(r"^trade receivables\b"), _re(r"^(accounts|sundry) receivables?|^sundry debtors")),
             _re(r"days|turnover|unbilled"), point=True),
    LineItem("inventories", "inventories", _re(r"\binventor(y|ies)\b|\bstock[\s-]in[\s-]trade\b|\bstocks of\b"),
             (_re(r"^inventories\b"), _re(r"^inventory\b")), _re(r"changes?|days|turnover"), point=True),
    LineItem("payables", "trade payables", _re(r"\b(trade |accounts? )?payables?\b|creditors"),
             (_re(r"^trade payables\b"), _re(r"^(accounts|sundry) payables?|^sundry creditors")),
             _re(r"days|turnover"), point=True),
    LineItem(
        "ppe", "property, plant and equipment",
        _re(r"\b(property,? plant and equipment|property and equipment|fixed assets|pp&e|ppe)\b"),
        (_re(r"^property,? plant and equipment\b"), _re(r"^property and equipment\b"), _re(r"^(net )?fixed assets\b")),
        _re(r"purchase|sale|proceeds|capital work"), point=True,
    ),
    LineItem(
        "operating_cash_flow", "net cash from operating activities",
        _re(r"\b(operating cash flows?|cash flows? from operations|cash (generated )?from operati\w+|"
            r"cfo|ocf|operating activities)\b"),
        (_re(rf"^{_NET_CASH}operating activities"), _re(rf"{_NET_CASH}operating activities"),
         _re(r"cash (generated )?from operations")),
        _re(r"before|investing|financing"),
    ),
    LineItem(
        "investing_cash_flow", "net cash used in investing activities", _re(r"\binvesting activities\b"),
        (_re(rf"{_NET_CASH}investing activities"),),
    ),
    LineItem(
        "financing_cash_flow", "net cash used in financing activities", _re(r"\bfinancing activities\b"),
        (_re(rf"{_NET_CASH}financing activities"),),
    ),
    LineItem(
        "capex", "purchases of property, plant and equipment",
        _re(r"\b(capex|capital expenditures?|purchases? of (property|fixed assets|ppe))\b"),
        (_re(r"^(payments? for |purchases? of |acquisition of )(property,? (plant,? )?(and )?equipment|fixed assets|ppe)"),
         _re(r"(purchases?|acquisition) of (property,? (plant,? )?(and )?equipment|fixed assets)"),
         _re(r"^capital expenditure")),
        _re(r"proceeds|sale of|disposal"),
    ),
    LineItem(
        "dividends_paid", "dividends paid",
        _re(r"\bdividends? paid\b|\bdividends?\b[\w\s,'’]{0,40}\bpa(id|y)\b|\bpay(ment)?s? of dividends?\b"),
        (_re(r"^dividends? paid\b"), _re(r"dividends? paid"), _re(r"payments? of dividends?"),
         _re(r"^dividends?( \(including[^)]*\))?$")),
        _re(r"per (equity )?share|non[\s-]controlling|declared|proposed|recommended"),
    ),
    LineItem(
        "dividend_per_share", "dividend per share",
        _re(r"\b(final |interim |special )?dividends? per (equity )?share\b|\bdps\b|"
            r"\b(final|interim|special) dividend\b"),
        (_re(r"dividends? per (equity )?share"), _re(r"(final|interim|special) dividend")),
    ),
    LineItem(
        "free_cash_flow", "free cash flow", _re(r"\b(free cash flows?|fcf)\b"),
        (_re(r"^free cash flows?\b"), _re(r"\bfree cash flows?\b"), _re(r"\bfcf\b")),
        _re(r"conversion|margin|%|yield"), computed=(("operating_cash_flow", 1), ("capex", -1)),
    ),
    LineItem(
        "working_capital", "working capital", _re(r"\b(net )?working capital\b"),
        (_re(r"^(net )?working capital$"),), _re(r"changes?|increase|decrease|movement|%|days|ratio"),
        point=True, computed=(("current_assets", 1), ("current_liabilities", -1)),
    ),
    LineItem(
        "net_debt", "net debt", _re(r"\bnet debt\b"), (_re(r"^net debt\b"),), _re(r"equity|ebitda|%|ratio"),
        point=True, computed=(("borrowings", 1), ("cash", -1)),
    ),
    LineItem(
        "research_development", "research and development expenses",
        _re(r"\b(research and development|r\s?&\s?d)\b"),
        (_re(r"^research and development\b"), _re(r"\bresearch and development\b")),
    ),
    LineItem(
        "employees", "employees",
        _re(r"\b(employees|headcount|head count|workforce|staff strength|people employed)\b"),
        (_re(r"^(total )?(number of )?employees\b"), _re(r"^headcount\b")),
        _re(r"benefit|cost|expense|stock|share|option|welfare|provident"),
    ),
)

BY_KEY = {item.key: item for item in LINE_ITEMS}


@dataclass(frozen=True)
class Ratio:
    """A metric computed from line items; `kind` says how: a ratio of two (×100 when a
    percentage), or days (×365)."""

    key: str
    name: str
    asked: re.Pattern
    numerator: str
    denominator: str
    kind: str  # "percent", "times" or "days"
    extra: str | None = None  # added to the numerator (interest coverage: PBT + finance costs)
    less: str | None = None  # taken from the numerator (quick ratio: current assets − inventories)


RATIOS: tuple[Ratio, ...] = (
    # Before "asset turnover", whose wording it contains.
    Ratio("fixed_asset_turnover", "fixed asset turnover",
          _re(r"\b(fixed[\s-]assets?|pp&?e|property,? plant and equipment)[\s-]turnover\b"), "revenue", "ppe", "times"),
    Ratio("net_margin", "net profit margin",
          _re(r"\b(net (profit )?margin|pat margin|profit margin|net income margin)\b"),
          "net_profit", "revenue", "percent"),
    Ratio("operating_margin", "operating margin",
          _re(r"\b(operating (profit )?margin|ebit margin)\b"), "operating_profit", "revenue", "percent"),
    Ratio("ebitda_margin", "EBITDA margin", _re(r"\bebitda margin\b"), "ebitda", "revenue", "percent"),
    Ratio("gross_margin", "gross margin", _re(r"\bgross (profit )?margin\b"), "gross_profit", "revenue", "percent"),
    Ratio("pbt_margin", "profit before tax margin", _re(r"\b(pbt|pre[\s-]tax) margin\b"), "pbt", "revenue", "percent"),
    Ratio("tax_rate", "effective tax rate", _re(r"\beffective tax rate\b|\btax rate\b"), "tax", "pbt", "percent"),
    Ratio("roe", "return on equity", _re(r"\b(return on (average )?equity|roe)\b"), "net_profit", "equity", "percent"),
    Ratio("roa", "return on assets", _re(r"\b(return on (average )?(total )?assets|roa)\b"), "net_profit",
          "total_assets", "percent"),
    Ratio("current_ratio", "current ratio", _re(r"\bcurrent ratio\b"), "current_assets",
          "current_liabilities", "times"),
    Ratio("debt_equity", "debt-to-equity ratio", _re(r"\b(debt[\s-]+(to[\s-]+)?equity|gearing|leverage ratio)\b"),
          "borrowings", "equity", "times"),
    Ratio("asset_turnover", "asset turnover", _re(r"\basset turnover\b"), "revenue", "total_assets", "times"),
    Ratio("interest_coverage", "interest coverage ratio", _re(r"\b(interest coverage|times interest earned)\b"),
          "pbt", "finance_cost", "times", extra="finance_cost"),
    Ratio("receivable_days", "receivable days",
          _re(r"\b(receivables? days|debtors? days|days sales outstanding|dso|collection period)\b"),
          "receivables", "revenue", "days"),
    Ratio("inventory_days", "inventory days", _re(r"\b(inventory days|days inventory|days in inventory|dio)\b"),
          "inventories", "cogs", "days"),
    Ratio("payable_days", "payable days", _re(r"\b(payables? days|creditors? days|days payables? outstanding|dpo)\b"),
          "payables", "cogs", "days"),
    Ratio("inventory_turnover", "inventory turnover", _re(r"\binventory turnover\b"), "cogs", "inventories", "times"),
    Ratio("quick_ratio", "quick ratio", _re(r"\b(quick ratio|acid[\s-]test( ratio)?)\b"), "current_assets",
          "current_liabilities", "times", less="inventories"),
    Ratio("cash_ratio", "cash ratio", _re(r"\bcash ratio\b"), "cash", "current_liabilities", "times"),
    Ratio("ocf_ratio", "operating cash flow ratio", _re(r"\boperating cash flow ratio\b"), "operating_cash_flow",
          "current_liabilities", "times"),
    Ratio("payout", "dividend payout ratio", _re(r"\b(dividend )?payout ratio\b"), "dividends_paid",
          "net_profit", "percent"),
)

GROWTH = _re(r"\b(growth|grow|grew|grown|increase[ds]?|decrease[ds]?|decline[ds]?|rise|rose|fell|"
             r"change[ds]?|yoy|y-o-y|year[\s-]on[\s-]year|year[\s-]over[\s-]year|jump(ed)?|drop(ped)?)\b")
CAGR = _re(r"\b(cagr|compound(ed)? annual growth)\b")
FREE_CASH_FLOW = _re(r"\b(free cash flows?|fcf)\b")
