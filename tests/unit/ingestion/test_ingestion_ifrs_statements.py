"""IFRS annual reports: column headings set one piece per line, units as "€000"."""

from beacon_ingestion.pipeline.chunking import chunk_pages
from beacon_ingestion.pipeline.parsing import Page, blocks_from_lines, statement_title

# PDFium's reading order for a UK annual report's balance sheet: the title, then each
# column's "As at / 31 December / 2022 / €000" on lines of their own.
STACKED = """CONSOLIDATED STATEMENT OF FINANCIAL POSITION
49
EXAMPLE COMMUNICATIONS PLC
As at
31 December
2022
€000
As at
31 December
2021
Notes €000
Assets
Non-current assets
Income tax receivable 14 4,961 5,234
Current assets
Cash and cash equivalents 10 5,890 10,556
Total assets 10,939 16,017
The notes on pages 57 to 80 form an integral part of these financial statements.
"""

PROFIT_OR_LOSS = """CONSOLIDATED STATEMENT OF PROFIT OR LOSS AND OTHER COMPREHENSIVE INCOME
FOR THE YEAR ENDED 30 JUNE 2022
Notes
2022
$
2021
$
Other income 2 21,343 16,331
Exploration expenses (556,353) (291,279)
Net loss for the year (1,925,704) (909,186)
"""


def test_a_heading_stacked_one_piece_per_line_becomes_the_header_of_a_table():
    blocks = blocks_from_lines(STACKED)
    table = next(b for b in blocks if b["kind"] == "table")
    assert table["header"][1:] == ["As at 31 December 2022 (€000)", "As at 31 December 2021 (€000)"]
    assert ["Income tax receivable (Note 14)", "4,961", "5,234"] in table["rows"]
    assert ["Total assets", "10,939", "16,017"] in table["rows"]


def test_the_unit_heading_joins_the_statement_title_so_every_chunk_carries_it():
    blocks = blocks_from_lines(STACKED)
    title = statement_title(blocks)
    assert title == "CONSOLIDATED STATEMENT OF FINANCIAL POSITION - €000"
    chunks = chunk_pages([Page(number=49, blocks=blocks, title=title)])
    row_chunk = next(c for c in chunks if "Total assets" in c.text)
    assert row_chunk.text.startswith(title)
    assert "Total assets | As at 31 December 2022 (€000): 10,939" in row_chunk.text


def test_an_ifrs_profit_or_loss_statement_is_titled_with_its_period():
    blocks = blocks_from_lines(PROFIT_OR_LOSS)
    assert statement_title(blocks) == ("CONSOLIDATED STATEMENT OF PROFIT OR LOSS AND OTHER COMPREHENSIVE "
                                       "INCOME - FOR THE YEAR ENDED 30 JUNE 2022 - $")
    table = next(b for b in blocks if b["kind"] == "table")
    assert table["header"][1:] == ["2022 ($)", "2021 ($)"]
    assert ["Other income (Note 2)", "21,343", "16,331"] in table["rows"]


def test_a_unit_line_under_a_one_line_header_goes_into_the_columns():
    blocks = blocks_from_lines("Note 2022 2021\n£’000 £’000\nRevenue 2 86,614 82,720\nStaff costs 3 (19,566) (16,268)\n")
    table = next(b for b in blocks if b["kind"] == "table")
    assert table["header"][1:] == ["2022 (£’000)", "2021 (£’000)"]
    assert table["rows"][0] == ["Revenue (Note 2)", "86,614", "82,720"]


def test_short_lines_that_name_one_period_are_not_a_stacked_header():
    text = "Chairman's statement\n2022\nwas a year of change\nRevenue grew\n"
    assert [b["kind"] for b in blocks_from_lines(text)] == ["text"]
