import pytest
from beacon_ingestion.pipeline.chunking import chunk_pages, is_heading, point_id, table_lines
from beacon_ingestion.pipeline.download import DownloadRefused, SafeDownloader, is_public
from beacon_ingestion.pipeline.parsing import Page, blocks_from_layout

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
        (1, 2, "1. Chairman Letter"),
        (2, 2, "2. Financial Highlights"),
        (2, 2, "2. Financial Highlights"),
    ]
    assert chunks[0].text.endswith("continued on the next page.")
    assert chunks[2].text == "Net profit | FY2024: 79,020"


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
