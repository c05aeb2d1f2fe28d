"""A US 10-Q statement page whose rows PDFium gives as plain lines (the header's years on
lines of their own, "$" apart from its figures) is titled like a tabled one, so every chunk
of it carries the statement's name and its "(In millions ...)" line."""

from beacon_ingestion.pipeline.chunking import chunk_pages
from beacon_ingestion.pipeline.parsing import Page, blocks_from_lines, statement_title

# PDFium's lines for the top of a Form 10-Q statement of operations (shortened).
US_STATEMENT = "\n".join([
    "Apple Inc.",
    "PART I — FINANCIAL INFORMATION",
    "Item 1. Financial Statements",
    "CONDENSED CONSOLIDATED STATEMENTS OF OPERATIONS (Unaudited)",
    "(In millions, except number of shares which are reflected in thousands and per share amounts)",
    "Three Months Ended Nine Months Ended",
    "July 1,",
    "2023",
    "June 25,",
    "2022",
    "Net sales:",
    *[f"{label} $ {a} $ {b} $ {c} $ {d}" for label, a, b, c, d in [
        ("Products", "60,584", "63,355", "230,901", "245,241"),
        ("Services", "21,213", "19,604", "62,886", "58,941"),
        ("Total net sales", "81,797", "82,959", "293,787", "304,182"),
        ("Total cost of sales", "45,384", "47,074", "165,066", "171,495"),
        ("Gross margin", "36,413", "35,885", "128,721", "132,687"),
        ("Research and development", "7,442", "6,797", "22,608", "19,490"),
        ("Operating income", "22,998", "23,076", "87,332", "94,543"),
        ("Net income", "19,881", "19,442", "74,039", "79,082"),
    ]],
])
# A page of prose that names a statement in a sentence and quotes figures is not one.
PROSE = "\n".join([
    "We have audited the accompanying consolidated balance sheets of Example Inc. as of 2022 and 2021.",
    *[f"In 2022 revenue was {n},000 and in 2021 it was {n - 1},500 for segment {n}." for n in range(3, 14)],
])


def test_a_us_statement_page_of_plain_lines_is_titled_and_every_chunk_carries_its_unit():
    blocks = blocks_from_lines(US_STATEMENT)
    assert not any(b["kind"] == "table" for b in blocks)  # the premise: no table was read
    title = statement_title(blocks)
    assert title == ("CONDENSED CONSOLIDATED STATEMENTS OF OPERATIONS (Unaudited) - (In millions, except "
                     "number of shares which are reflected in thousands and per share amounts)")
    chunks = chunk_pages([Page(number=4, blocks=blocks, title=title)], target_chars=200)
    assert len(chunks) > 1 and all(c.text.startswith(title) for c in chunks)


def test_a_sentence_naming_a_statement_does_not_title_a_page_of_figures():
    assert statement_title(blocks_from_lines(PROSE)) is None
