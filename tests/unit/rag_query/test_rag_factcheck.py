"""Numbers as Indian filings write them, sentences, the fact checker and the extractive
answerer."""

from __future__ import annotations

import pytest

from beacon_rag_query.answerer import EXTRACTIVE_LABEL, NOT_FOUND, ExtractiveAnswerer, answer_prompt
from beacon_rag_query.domain import Evidence
from beacon_rag_query.factcheck import fact_check
from beacon_rag_query.asked import read_question
from beacon_rag_query.derived import find_figures
from beacon_rag_query.periods import FiscalPeriod
from beacon_rag_query.text import amounts, format_inr, indian_grouping, same_amount, sentences, terms


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("₹9,74,864 crore", 9_74_864e7, "value"),
        ("Rs. 974,864 crore", 9_74_864e7, "value"),
        ("Rs.974,864 cr.", 9_74_864e7, "value"),
        ("INR 9.75 lakh crore", 9.75e12, "value"),
        ("₹25.6 lakh crore", 25.6e12, "value"),
        ("12 lakh", 1.2e6, "value"),
        ("$2.5 billion", 2.5e9, "value"),
        ("45 million", 45e6, "value"),
        ("2.6%", 2.6, "percent"),
        ("2.6 per cent", 2.6, "percent"),
        ("141.56", 141.56, "value"),
        ("6,01,546 employees", 601546, "value"),
    ],
)
def test_amounts(text, value, kind):
    found, = amounts(text)
    assert found.value == pytest.approx(value) and found.kind == kind


@pytest.mark.parametrize(
    "text",
    ["in FY2024", "Q3FY25 results", "as at March 31, 2024", "on 31st March", "in 2023-24",
     "see note [1]", "COVID-19", "the year 2024"],
)
def test_periods_dates_years_and_markers_are_not_amounts(text):
    assert amounts(text) == []


@pytest.mark.parametrize(
    ("claim", "evidence", "same"),
    [
        ("₹9,74,864 crore", "Rs. 974,864 crore", True),
        ("₹9.75 lakh crore", "₹9,74,864 crore", True),  # rounded, and says so by its precision
        ("₹9.7 lakh crore", "₹9,74,864 crore", True),
        ("₹9.8 lakh crore", "₹9,74,864 crore", False),
        ("₹9,748,640 million", "₹9,74,864 crore", True),
        ("₹9.75 trillion", "₹9,74,864 crore", True),
        ("₹97,486 million", "₹9,74,864 crore", False),
        ("₹9,74,864 crore", "9,74,864", True),  # a table "in ₹ crore" writes digits alone
        ("₹9,74,864 crore", "₹9,74,864 lakh", False),
        ("2.6%", "2.6", False),  # a percentage is not a plain number
        ("2.6%", "2.60%", True),
    ],
)
def test_same_amount(claim, evidence, same):
    assert same_amount(amounts(claim)[0], amounts(evidence)[0]) is same


def test_indian_grouping_and_rupees():
    assert indian_grouping(974864) == "9,74,864"
    assert indian_grouping(1234567890) == "1,23,45,67,890"
    assert indian_grouping(999) == "999"
    assert format_inr(2_58_027e7) == "₹2,58,027 crore"
    assert format_inr(15_000) == "₹15,000"


def test_terms_split_fiscal_labels_so_years_match():
    assert terms("FY2018 revenues") == ["fy", "2018", "revenue"]
    assert "2018" in terms("in fiscal 2018")


def test_sentences_keep_markers_and_abbreviations():
    text = ("Revenue was Rs. 9,74,864 crore in FY2024 [1]. Net profit rose 2.6%. [2] "
            "Tata Sons Pvt. Ltd. is the promoter. Reliance Industries Ltd. reported growth.\n"
            "- first point\n- second point")
    assert sentences(text) == [
        "Revenue was Rs. 9,74,864 crore in FY2024 [1].",
        "Net profit rose 2.6%. [2]",
        "Tata Sons Pvt. Ltd. is the promoter.",
        "Reliance Industries Ltd. reported growth.",
        "- first point",
        "- second point",
    ]


EVIDENCE = [
    Evidence(1, "Total revenue from operations for FY2024 was ₹9,74,864 crore, an increase of "
                "2.6% over the previous year.", 123, "Reliance Industries Annual Report FY2024", 45),
    Evidence(2, "Net profit for FY2024 was ₹79,020 crore, up 7.3%.", 123,
             "Reliance Industries Annual Report FY2024", 46),
]


def test_supported_answers_score_one():
    answer = ("Reliance's revenue from operations for FY2024 was ₹9.75 lakh crore [1]. "
              "Net profit was ₹79,020 crore [2].")
    result = fact_check(answer, EVIDENCE)
    assert result.faithfulness_score == 1.0
    assert result.response == answer and result.support == [1, 2]


def test_a_wrong_figure_or_a_wrong_citation_is_unsupported():
    answer = ("Revenue from operations for FY2024 was ₹9,74,864 crore [1]. "
              "Net profit for FY2024 was ₹80,000 crore [2]. "
              "Net profit for FY2024 was ₹79,020 crore [1].")
    result = fact_check(answer, EVIDENCE)
    # Claims are sentences and their numbers: 2 of 2, 1 of 2 (wrong figure), 0 of 2 (the
    # cited passage holds neither the words nor the figure).
    assert result.faithfulness_score == pytest.approx(3 / 6, abs=1e-4)
    assert result.unsupported == ["Net profit for FY2024 was ₹80,000 crore [2].",
                                  "Net profit for FY2024 was ₹79,020 crore [1]."]
    assert result.response == "Revenue from operations for FY2024 was ₹9,74,864 crore [1]."
    check = result.checks[1]
    assert check.unsupported_numbers == ("₹80,000 crore",)


def test_an_uncited_sentence_is_supported_by_the_passage_that_holds_it():
    result = fact_check("Net profit for FY2024 was ₹79,020 crore.", EVIDENCE)
    assert result.faithfulness_score == 1.0 and result.support == [2]


def test_labels_and_small_talk_are_not_claims():
    result = fact_check(f"{EXTRACTIVE_LABEL} Here it is. Net profit was ₹79,020 crore [2].",
                        EVIDENCE, ignore=[EXTRACTIVE_LABEL])
    assert len(result.claims) == 1 and result.faithfulness_score == 1.0
    assert fact_check("Hello.", EVIDENCE).faithfulness_score is None


def test_figures_only_in_structured_data_are_reconciled():
    structured = [Evidence(1, "The revenue of Reliance Industries for FY2024 was ₹9,74,864 crore.",
                           None, "Reliance Industries: company fundamentals (FY2024)", None)]
    passages = [Evidence(1, "Revenue from operations grew in FY2024.", 123, "RIL AR", 45)]
    answer = "Revenue from operations in FY2024 was ₹9,74,864 crore [1]."
    unreconciled = fact_check(answer, passages)
    assert unreconciled.faithfulness_score == 0.5  # the words are there, the figure is not
    assert unreconciled.response == ""
    reconciled = fact_check(answer, passages, structured=structured)
    assert reconciled.faithfulness_score == 1.0 and reconciled.reconciled_numbers == 1


async def test_the_extractive_answerer_quotes_the_best_sentences_with_markers():
    model = ExtractiveAnswerer()
    prompt = answer_prompt("What was the net profit in FY2024?", EVIDENCE, focus=["FY2024"])
    completion = await model.complete(prompt)
    assert completion.text == (f"{EXTRACTIVE_LABEL} Net profit for FY2024 was ₹79,020 crore, "
                               "up 7.3% [2].")
    assert completion.input_tokens > 0 and completion.output_tokens > 0
    streamed = "".join([piece async for piece in model.stream(prompt)])
    assert streamed == completion.text
    assert "[2] (Reliance Industries Annual Report FY2024, page 46)" in prompt.user


async def test_the_extractive_answerer_admits_when_nothing_matches():
    prompt = answer_prompt("Who is the auditor?", EVIDENCE)
    assert (await ExtractiveAnswerer().complete(prompt)).text == NOT_FOUND


def test_table_rows_are_sentences_of_their_own():
    chunk = ("Financial highlights of the year\nwere strong.\n"
             "Revenue from operations | FY2024: 9,74,864 | FY2023: 9,50,000\n"
             "Net profit | FY2024: 79,020 | FY2023: 73,670\n"
             "The board recommended a dividend.")
    assert sentences(chunk) == [
        "Financial highlights of the year were strong.",
        "Revenue from operations | FY2024: 9,74,864 | FY2023: 9,50,000",
        "Net profit | FY2024: 79,020 | FY2023: 73,670",
        "The board recommended a dividend.",
    ]


def test_saying_the_passages_lack_the_answer_is_not_a_claim():
    result = fact_check("The passages do not state the dividend. Net profit was ₹79,020 crore [2].",
                        EVIDENCE)
    assert len(result.claims) == 1 and result.faithfulness_score == 1.0
    assert fact_check(NOT_FOUND, EVIDENCE).faithfulness_score is None


async def test_the_extractive_answerer_matches_the_terms_it_is_given():
    evidence = [Evidence(1, "Revenue grew 7.7% in the quarter. Attrition fell to 12.3%.", 4,
                         "TCS Q2FY25 Results", 2)]
    prompt = answer_prompt("What was TCS attrition in Q2FY25?", evidence, terms=["attrition"])
    assert (await ExtractiveAnswerer().complete(prompt)).text == (
        f"{EXTRACTIVE_LABEL} Attrition fell to 12.3% [1].")


async def test_a_table_row_is_read_not_quoted():
    table = ("Revenue from operations | FY2024: 2,40,893 | FY2023: 2,25,458\n"
             "Operating profit | FY2024: 59,311 | FY2023: 54,237\n"
             "Net profit | FY2024: 45,908 | FY2023: 42,147")
    evidence = [Evidence(1, table, 3, "TCS Annual Report FY2024", 2, "TCS.NS", "FY2024")]
    question = "What was TCS net profit in FY2024?"
    asked = read_question(question, ["TCS.NS"], [FiscalPeriod(2024, "FY")], entity_words=["TCS"])
    figures = find_figures(asked, evidence, {"TCS.NS": "TCS"})
    prompt = answer_prompt(question, evidence, terms=["net", "profit"], figures=figures,
                           names={"TCS.NS": "TCS"})
    assert (await ExtractiveAnswerer().complete(prompt)).text == (
        "TCS's net profit in FY2024 was 45,908 [1].")
    # Without the figures (a narrative reading), table rows are never quoted as sentences.
    plain = answer_prompt(question, evidence, terms=["net", "profit"])
    assert (await ExtractiveAnswerer().complete(plain)).text == NOT_FOUND


def test_passages_that_state_the_answer_on_their_own_corroborate_it():
    from beacon_rag_query.factcheck import corroborating

    statement = Evidence(1, "Net income $ 19,881 $ 19,442 $ 74,039 $ 79,082", 7, "Apple 10-Q", 4,
                         "AAPL.NS", "Q3FY23", 0.9)
    discussion = Evidence(2, "Net income was $19,881 million for the third quarter of 2023, "
                             "compared with $19,442 million a year earlier.", 7, "Apple 10-Q", 21,
                          "AAPL.NS", "Q3FY23", 0.7)
    unrelated = Evidence(3, "Net income per share was $1.26 on a diluted basis.", 7, "Apple 10-Q", 4,
                         "AAPL.NS", "Q3FY23", 0.6)
    structured = Evidence(4, "The net income of Apple for Q3FY23 was $19,881 million.", None,
                          "Apple: company fundamentals", None, "AAPL.NS", "Q3FY23", 1.0)
    evidence = [statement, discussion, unrelated, structured]
    fact = fact_check("Apple's net income in the quarter was $19,881 million [1].", evidence)
    assert fact.support == [1]
    # The discussion holds the same figure; the EPS line does not; fundamentals are no page.
    assert corroborating(fact, evidence) == [2]
