"""Generate the bundled sample corpus: `python -m beacon_ingestion.sample_corpus_gen [DIR]`.

Every page says "Illustrative sample, not a real filing": the figures are made up for
development and tests (some echo the API document's examples). Output is deterministic (fixed
creation date), so regenerating gives the same bytes and the same point ids.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LABEL = "Illustrative sample, not a real filing"
FIXED_DATE = datetime(2024, 11, 25, tzinfo=UTC)


@dataclass(frozen=True)
class CompanySample:
    symbol: str
    name: str
    segments: tuple[tuple[str, str, str], ...]  # name, revenue FY2024, EBITDA FY2024 (Rs crore)
    annual: tuple[tuple[str, str, str, str], ...]  # particulars, FY2024, FY2023, change %
    quarter: tuple[tuple[str, str, str, str, str], ...]  # particulars, Q2FY25, Q1FY25, Q2FY24, YoY %
    story: str
    risks: str
    outlook: str
    q_commentary: str


SAMPLES = (
    CompanySample(
        "RELIANCE.NS", "Reliance Industries Ltd.",
        (("Oil to Chemicals", "5,64,749", "54,968"), ("Retail", "3,06,848", "23,082"),
         ("Digital Services", "1,32,938", "56,210")),
        (("Revenue from operations", "9,74,864", "9,74,000", "0.1"), ("EBITDA", "1,78,677", "1,53,920", "16.1"),
         ("Net profit", "79,020", "73,670", "7.3"), ("EPS (Rs)", "102.90", "98.59", "4.4"),
         ("Dividend per share (Rs)", "10.00", "9.00", "11.1")),
        (("Revenue from operations", "2,58,027", "2,57,823", "2,55,996", "0.8"),
         ("EBITDA", "43,934", "42,748", "44,867", "-2.1"), ("Net profit", "19,101", "17,445", "17,394", "9.8"),
         ("EPS (Rs)", "14.16", "12.90", "12.85", "10.2")),
        "Reliance grew its consumer businesses, Jio and Retail, while the Oil to Chemicals "
        "segment faced weaker refining margins. Jio added subscribers and expanded 5G coverage "
        "across India. Retail opened new stores and grew its digital commerce.",
        "Key risks are volatility in crude oil prices and refining margins, regulatory changes "
        "in telecom tariffs, execution of the new energy giga-factories, and competition in "
        "retail. The Risk Management Committee reviews these risks every quarter.",
        "The company expects digital services and retail to drive growth, with capital "
        "expenditure directed to new energy, 5G rollout and retail expansion in FY2025.",
        "Consolidated net profit rose 9.8% year on year to Rs 19,101 crore, helped by higher "
        "other income and growth in Jio. Oil to Chemicals EBITDA declined on weaker margins.",
    ),
    CompanySample(
        "TCS.NS", "Tata Consultancy Services Ltd.",
        (("Banking, Financial Services and Insurance", "86,234", "23,190"), ("Retail and CPG", "38,911", "10,480"),
         ("Manufacturing", "21,098", "5,330")),
        (("Revenue from operations", "2,40,893", "2,25,458", "6.8"), ("Operating profit", "59,311", "54,237", "9.4"),
         ("Net profit", "45,908", "42,147", "8.9"), ("EPS (Rs)", "125.88", "115.19", "9.3"),
         ("Dividend per share (Rs)", "73.00", "115.00", "-36.5")),
        (("Revenue from operations", "64,259", "62,613", "59,692", "7.7"),
         ("Operating profit", "15,465", "15,442", "14,483", "6.8"), ("Net profit", "11,909", "12,040", "11,342", "5.0"),
         ("EPS (Rs)", "32.92", "33.28", "31.00", "6.2")),
        "TCS closed the year with a record order book, strong deal wins in banking and "
        "financial services, and stable attrition. Headcount was broadly flat as utilisation "
        "improved.",
        "Key risks are slower technology spending by clients in North America and Europe, "
        "currency movements, wage inflation and talent retention, and cyber security.",
        "The company expects demand for cloud, data and AI services to support growth, and "
        "will keep investing in talent and research in FY2025.",
        "Revenue grew 7.7% year on year in rupee terms; the total contract value of deals "
        "signed in the quarter was USD 8.6 billion. Attrition fell to 12.3%.",
    ),
    CompanySample(
        "INFY.NS", "Infosys Ltd.",
        (("Financial Services", "42,158", "10,960"), ("Retail", "22,750", "6,370"),
         ("Communication", "18,466", "4,020")),
        (("Revenue from operations", "1,53,670", "1,46,767", "4.7"), ("Operating profit", "31,975", "30,815", "3.8"),
         ("Net profit", "26,233", "24,095", "8.9"), ("EPS (Rs)", "63.39", "57.63", "10.0"),
         ("Dividend per share (Rs)", "46.00", "34.50", "33.3")),
        (("Revenue from operations", "40,986", "39,315", "38,994", "5.1"),
         ("Operating profit", "8,649", "8,288", "8,274", "4.5"), ("Net profit", "6,506", "6,368", "6,212", "4.7"),
         ("EPS (Rs)", "15.71", "15.38", "15.01", "4.7")),
        "Infosys won large deals across financial services and retail, improved operating "
        "margins through its cost programme, and expanded its generative AI offerings.",
        "Key risks are discretionary spending cuts by clients, pricing pressure on large "
        "deals, currency volatility, and data privacy regulation.",
        "The company raised its revenue growth guidance for FY2025 to 3.75% to 4.5% in "
        "constant currency after large deal wins in the first half.",
        "Revenue grew 5.1% year on year and the company raised its FY2025 revenue guidance. "
        "Large deal total contract value was USD 2.4 billion in Q2FY25.",
    ),
)


def _pdf():
    from fpdf import FPDF

    class Report(FPDF):
        def header(self) -> None:
            self.set_font("Helvetica", "I", 8)
            self.set_text_color(150, 0, 0)
            self.cell(0, 6, LABEL, align="C", new_x="LMARGIN", new_y="NEXT")
            self.set_text_color(0, 0, 0)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("Helvetica", "I", 8)
            self.cell(0, 6, f"Page {self.page_no()}", align="C")

    pdf = Report()
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_auto_page_break(True, margin=18)
    return pdf


def _heading(pdf, text: str) -> None:
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)


def _para(pdf, text: str) -> None:
    pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _table(pdf, rows, widths) -> None:
    with pdf.table(col_widths=widths, text_align="LEFT") as table:
        for row in rows:
            cells = table.row()
            for cell in row:
                cells.cell(cell)
    pdf.ln(3)


def _clean(text: str) -> str:
    return text.replace("Rs ", "Rs. ")


def annual_report(c: CompanySample) -> bytes:
    pdf = _pdf()
    short = c.name.replace(" Ltd.", "")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.multi_cell(0, 12, f"{short}\nAnnual Report FY2024", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    _para(pdf, f"{LABEL}. This document was generated for the Beacon development corpus. It "
               f"imitates the structure of an annual report of {c.name} for the fiscal year "
               "FY2024 (April 2023 to March 2024); its figures are illustrative and must not be "
               "used as financial information.")
    pdf.add_page()
    _heading(pdf, "1. Chairman's Message")
    _para(pdf, _clean(c.story))
    _para(pdf, "Dear shareholders, the year tested every business we run. We stayed focused on "
               "customers, on capital discipline and on building capabilities for the next decade.")
    _heading(pdf, "2. Financial Highlights")
    _para(pdf, "Consolidated results for the year (Rs crore, except per-share data):")
    _table(pdf, [("Particulars", "FY2024", "FY2023", "Change %"), *c.annual], (70, 35, 35, 30))
    pdf.add_page()
    _heading(pdf, "3. Segment Performance")
    _para(pdf, "Segment revenue and EBITDA for FY2024 (Rs crore):")
    _table(pdf, [("Segment", "Revenue FY2024", "EBITDA FY2024"), *c.segments], (80, 45, 45))
    _heading(pdf, "4. Risk Management")
    _para(pdf, c.risks)
    pdf.add_page()
    _heading(pdf, "5. Outlook")
    _para(pdf, c.outlook)
    _heading(pdf, "6. Corporate Governance")
    _para(pdf, "The Board met six times during the year. The Audit Committee reviewed the "
               "financial statements, related party transactions and internal controls.")
    return bytes(pdf.output())


def quarterly_result(c: CompanySample) -> bytes:
    pdf = _pdf()
    short = c.name.replace(" Ltd.", "")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.multi_cell(0, 11, f"{short}\nResults for Q2FY25 (quarter ended 30 September 2024)",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    _para(pdf, f"{LABEL}. Figures are illustrative (Rs crore, except per-share data).")
    _heading(pdf, "1. Financial Results")
    _table(pdf, [("Particulars", "Q2FY25", "Q1FY25", "Q2FY24", "YoY %"), *c.quarter], (60, 30, 30, 30, 20))
    pdf.add_page()
    _heading(pdf, "2. Management Commentary")
    _para(pdf, _clean(c.q_commentary))
    _heading(pdf, "3. Key Highlights")
    _para(pdf, "The Board declared an interim dividend. The results were reviewed by the Audit "
               "Committee and approved by the Board of Directors.")
    return bytes(pdf.output())


def generate(target: Path) -> list[dict]:
    target.mkdir(parents=True, exist_ok=True)
    manifest = []
    for company in SAMPLES:
        nse = company.symbol.removesuffix(".NS").lower()
        for doc_type, period, title, day, builder in (
            ("annual_report", "FY2024", "Annual Report FY2024", "2024-05-15", annual_report),
            ("quarterly_result", "Q2FY25", "Q2FY25 Results", "2024-10-18", quarterly_result),
        ):
            name = f"{nse}_{doc_type}_{period.lower()}.pdf"
            (target / name).write_bytes(builder(company))
            manifest.append({"file": name, "symbol": company.symbol, "doc_type": doc_type,
                             "fiscal_period": period, "title": f"{company.name.replace(' Ltd.', '')} {title}",
                             "document_date": day})
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "sample_corpus"
    for entry in generate(out):
        print(entry["file"])
