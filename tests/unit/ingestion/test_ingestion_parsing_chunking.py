import pytest
from beacon_ingestion.pipeline.chunking import chunk_pages, is_heading, point_id, table_lines
from beacon_ingestion.pipeline.download import DownloadRefused, SafeDownloader, is_public
from beacon_ingestion.pipeline.parsing import Page, blocks_from_layout, blocks_from_lines, statement_title

LAYOUT = """
                 2. Financial Highlights

Revenue from operations grew strongly during the year, driven by retail and digital
services across India.
Particulars                         FY2024            FY2023          Change %

Revenue from operations             9,74,864          9,50,000        2.6

Net profit                          79,020            73,670          7.3
The board recommended a dividend.
"""


def test_layout_lines_become_text_and_tables_with_headers():
    blocks = blocks_from_layout(LAYOUT)
    assert [b["kind"] for b in blocks] == ["text", "table", "text"]
    assert blocks[0]["lines"][0] == "2. Financial Highlights"
    assert blocks[1]["header"] == ["Particulars", "FY2024", "FY2023", "Change %"]
    assert blocks[1]["rows"] == [["Revenue from operations", "9,74,864", "9,50,000", "2.6"],
                                 ["Net profit", "79,020", "73,670", "7.3"]]


def test_aligned_words_without_numbers_are_not_a_table():
    blocks = blocks_from_layout("Chairman      Mukesh Ambani\nDirector      Nita Ambani\n")
    assert [b["kind"] for b in blocks] == ["text"]


def test_table_rows_carry_their_column_headers():
    lines = table_lines(["Particulars", "FY2024", "FY2023"], [["Net profit", "79,020", ""], ["Note 4"]])
    assert lines == ["Net profit | FY2024: 79,020", "Particulars: Note 4"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2. Financial Highlights", True),
        ("MANAGEMENT DISCUSSION AND ANALYSIS", True),
        ("Risk Management Framework", True),
        ("4.2 Segment results:", True),
        ("Revenue grew 5% in the year.", False),
        ("the company operates retail stores", False),
        ("9,74,864", False),
        ("Particulars FY2024", True),
        ("Financial Services 42,158 10,960", False),
    ],
)
def test_heading_heuristic(line, expected):
    assert is_heading(line) is expected


def page(number, *lines, table=None):
    blocks = [{"kind": "text", "lines": list(lines)}] if lines else []
    if table:
        blocks.append({"kind": "table", "header": table[0], "rows": table[1:]})
    return Page(number, blocks)


def test_chunks_know_pages_sections_and_split_on_headings():
    pages = [
        page(1, "1. Chairman Letter", "Dear shareholders, this was a good year.", "We grew."),
        page(2, "continued on the next page.", "2. Financial Highlights", "Revenue rose.",
             table=[["Particulars", "FY2024"], ["Net profit", "79,020"]]),
    ]
    chunks = chunk_pages(pages, target_chars=200, max_chars=400)
    assert [(c.page_start, c.page_end, c.section) for c in chunks] == [
        (1, 1, "1. Chairman Letter"),
        (2, 2, "1. Chairman Letter"),
        (2, 2, "2. Financial Highlights"),
        (2, 2, "2. Financial Highlights"),
    ]
    # A chunk never crosses a page break: the sentence on page 2 is cited as page 2.
    assert chunks[0].text.endswith("We grew.")
    assert chunks[1].text == "continued on the next page."
    assert chunks[3].text == "Net profit | FY2024: 79,020"


def test_long_text_is_split_at_sentences_within_the_maximum():
    sentence = "Revenue from operations grew on retail demand and digital services. "
    pages = [page(1, *(sentence for _ in range(60)))]
    chunks = chunk_pages(pages, target_chars=300, max_chars=500)
    assert len(chunks) > 5
    assert all(len(c.text) <= 500 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)
    assert "".join(c.text.replace(" ", "") for c in chunks) == (sentence * 60).replace(" ", "")


def test_point_ids_derive_from_content():
    assert point_id("a" * 64, 0, "x") == point_id("a" * 64, 0, "x")
    assert len({point_id("a" * 64, 0, "x"), point_id("b" * 64, 0, "x"),
                point_id("a" * 64, 1, "x"), point_id("a" * 64, 0, "y")}) == 4


@pytest.mark.parametrize(
    ("address", "public"),
    [("8.8.8.8", True), ("2001:4860:4860::8888", True), ("127.0.0.1", False), ("10.1.2.3", False),
     ("172.16.0.1", False), ("192.168.0.1", False), ("169.254.169.254", False), ("100.64.0.1", False),
     ("0.0.0.0", False), ("::1", False), ("fe80::1", False), ("fc00::1", False),
     ("::ffff:10.0.0.1", False), ("224.0.0.1", False)],
)
def test_public_addresses(address, public):
    assert is_public(address) is public


async def test_allowed_hosts_exempt_only_what_they_name():
    downloader = SafeDownloader(allowed_hosts=frozenset({"127.0.0.1:8080", "localhost"}))
    assert (await downloader.check_url("http://127.0.0.1:8080/a.pdf"))[3] == "127.0.0.1"
    assert (await downloader.check_url("http://localhost/a.pdf"))[1] == "localhost"
    with pytest.raises(DownloadRefused, match="non-public"):
        await downloader.check_url("http://127.0.0.1:8081/a.pdf")
    await downloader.close()


def test_running_headers_footers_and_page_numbers_are_dropped():
    pages = [page(n, "ACME Ltd. Annual Report", f"Body text of page {n} about revenue.", f"Page {n} of 3")
             for n in (1, 2, 3)]
    chunks = chunk_pages(pages, target_chars=2000, max_chars=4000)
    text = " ".join(c.text for c in chunks)
    assert "ACME Ltd. Annual Report" not in text and "Page 2 of 3" not in text
    assert all(f"Body text of page {n}" in text for n in (1, 2, 3))


def test_a_year_on_a_line_of_its_own_is_a_header_not_a_page_number():
    # PDFium gives a 10-Q header's years on lines of their own ("July 1," / "2023"), on pages
    # whose page numbers (a lone integer) repeat at the bottom
    pages = [page(n, "Three Months Ended", "July 1,", "2023", "June 25,", "2022",
                  f"Total net sales 81,797 82,959 on page {n}.", str(n)) for n in (1, 2, 3)]
    text = " ".join(c.text for c in chunk_pages(pages, target_chars=2000, max_chars=4000))
    assert "July 1, 2023 June 25, 2022" in text
    assert all(f"on page {n}." in text and f"on page {n}. {n}" not in text for n in (1, 2, 3))  # still dropped


# Page 326 of IndianOil's Integrated Annual Report 2024-25 (consolidated statement of profit
# and loss) as PDFium gives it: one row per line, cells separated by single spaces, a note
# column, a label wrapped over two lines, a subtotal without a label, the footer and page
# number below (shortened).
STATEMENT_PAGE = """Consolidated Financial Statements\r
Statement of Profit and Loss for the Year Ended March 31, 2025\r
(J in crore)\r
Particulars Note No. 2024-25 2023-24\r
I. Revenue From Operations 23 8,59,362.73 8,81,235.45\r
II. Other Income 24 3,513.73 3,838.56\r
IV. Expenses:\r
Changes in Inventories of Finished Goods, Stock-in-trade and Work-In-Progress 26 (789.75) 1,290.52\r
Depreciation, Amortisation and Impairment on:\r
a) Property, Plant and Equipment 16,448.15 15,603.44\r
b) Intangible Assets 329.19 262.67\r
 16,777.34 15,866.11\r
VIII.Exceptional Items (Refer Note - 48, S.No. 2) 1,838.02 -\r
A (ii) Income Tax relating to items that will not be reclassified to\r
profit or loss\r
 (75.53) (971.85)\r
SPRINT ahead | Integrated Annual Report 2024-25\r
326"""


def test_statement_rows_are_read_from_single_spaced_lines_under_their_period_header():
    blocks = blocks_from_lines(STATEMENT_PAGE)
    assert [b["kind"] for b in blocks] == ["text", "table", "text"]
    table = blocks[1]
    assert table["header"] == ["Particulars", "2024-25", "2023-24"]
    assert table["rows"] == [
        ["I. Revenue From Operations (Note 23)", "8,59,362.73", "8,81,235.45"],
        ["II. Other Income (Note 24)", "3,513.73", "3,838.56"],
        ["IV. Expenses:"],
        ["Changes in Inventories of Finished Goods, Stock-in-trade and Work-In-Progress (Note 26)",
         "(789.75)", "1,290.52"],
        ["Depreciation, Amortisation and Impairment on:"],
        ["a) Property, Plant and Equipment", "16,448.15", "15,603.44"],
        ["b) Intangible Assets", "329.19", "262.67"],
        ["Total Depreciation, Amortisation and Impairment on", "16,777.34", "15,866.11"],
        ["VIII.Exceptional Items (Refer Note - 48, S.No. 2)", "1,838.02", "-"],
        ["A (ii) Income Tax relating to items that will not be reclassified to profit or loss",
         "(75.53)", "(971.85)"],
    ]
    assert blocks[2]["lines"] == ["SPRINT ahead | Integrated Annual Report 2024-25", "326"]
    assert statement_title(blocks) == ("Consolidated Financial Statements - Statement of Profit and "
                                       "Loss for the Year Ended March 31, 2025 - (J in crore)")


@pytest.mark.parametrize(("header", "columns"), [
    ("Particulars As at March 31, 2025 As at March 31, 2024",
     ["As at March 31, 2025", "As at March 31, 2024"]),
    ("Particulars Year ended March 31, 2025 Year ended March 31, 2024",
     ["Year ended March 31, 2025", "Year ended March 31, 2024"]),
    ("Particulars FY2024 FY2023 Change %", ["FY2024", "FY2023", "Change %"]),
    ("Particulars Q2FY25 Q2FY24", ["Q2FY25", "Q2FY24"]),
    ("31.03.2025 31.03.2024", ["31.03.2025", "31.03.2024"]),
    ("Segment Revenue FY2024 EBITDA FY2024", ["Revenue FY2024", "EBITDA FY2024"]),
])
def test_period_headers_take_the_rows_below(header, columns):
    values = ["1,200.50", "1,100.25", "9.1"][: len(columns)]
    blocks = blocks_from_lines(f"{header}\nRevenue {' '.join(values)}\nNet profit 300 250 20.0\n")
    tables = [b for b in blocks if b["kind"] == "table"]
    assert len(tables) == 1 and tables[0]["header"][1:] == columns
    assert tables[0]["rows"][0] == ["Revenue", *values]


def test_sentences_ending_in_numbers_are_not_a_table():
    text = ("The Board met 6 times during 2024\nand the Audit Committee met 5\n"
            "times in the year ended March 31, 2025\n")
    assert [b["kind"] for b in blocks_from_lines(text)] == ["text"]
    sentence = "Revenue rose in FY2024 and profit fell in FY2023\nRetail 22,750 6,370\nJio 1,200 300\n"
    assert [b["kind"] for b in blocks_from_lines(sentence)] == ["text"]


def test_a_statement_page_puts_its_title_on_every_chunk():
    blocks = blocks_from_lines(STATEMENT_PAGE)
    title = statement_title(blocks)
    chunks = chunk_pages([Page(326, blocks, title=title)], target_chars=200, max_chars=400)
    rows = [c for c in chunks if "8,59,362.73" in c.text or "(971.85)" in c.text]
    assert len(chunks) >= 2 and len(rows) == 2  # the rows are split over two chunks at least
    assert all(c.text.startswith(title + "\n") and c.section == title for c in chunks)
    assert "I. Revenue From Operations (Note 23) | 2024-25: 8,59,362.73 | 2023-24: 8,81,235.45" in rows[0].text
    assert Page.from_json(Page(326, blocks, title=title).to_json()).title == title


def test_a_us_statement_with_dollar_signs_apart_from_the_figures():
    # A 10-K income statement as PDFium lines it up: "$" stands apart from each figure.
    text = ("CONSOLIDATED STATEMENTS OF OPERATIONS\n"
            "(In millions, except number of shares, which are reflected in thousands, and per-share amounts)\n"
            "Years ended September 28, 2024 September 30, 2023 September 24, 2022\n"
            "Net sales:\n"
            "Products $ 294,866 $ 298,085 $ 316,199\n"
            "Services 96,169 85,200 78,129\n"
            "Total net sales 391,035 383,285 394,328\n")
    blocks = blocks_from_lines(text)
    table = next(b for b in blocks if b["kind"] == "table")
    # the dropped sign is kept by the columns, as an IFRS unit heading is
    assert table["header"][1:] == ["Years ended September 28, 2024 ($)", "September 30, 2023 ($)",
                                   "September 24, 2022 ($)"]
    assert ["Products", "294,866", "298,085", "316,199"] in table["rows"]
    assert statement_title(blocks) == ("CONSOLIDATED STATEMENTS OF OPERATIONS - (In millions, except "
                                       "number of shares, which are reflected in thousands, and per-share amounts)")
