"""What the offline answerer accepts as a sentence to quote (answerer.is_prose)."""

from __future__ import annotations

import pytest

from beacon_rag_query.answerer import is_prose


@pytest.mark.parametrize(("text", "prose"), [
    ("Revenue for the third quarter was $18.12 billion, up 206% from a year ago and up 34% "
     "from the previous quarter.", True),
    ("Data Center revenue was $14.51 billion, up 279% from a year ago and up 41% from the previous "
     "quarter, and Gaming revenue was $2.86 billion, up 81% from a year ago.", True),
    ("Consolidated Statement of Profit and Loss", False),  # a heading
    ("Revenue from operations 9,74,864 9,50,100", False),  # a row
    # a table flattened into one line of text: labels with a figure every few words
    ("Three Months Ended Nine Months Ended July 1, June 25, July 1, June 25, Research and development "
     "$ 7,442 $ 6,797 $ 22,608 $ 19,490 Percentage of total net sales 9 % 8 % 8 % 6 % Selling, general "
     "and administrative $ 5,973 $ 6,012 $", False),
])
def test_prose_is_told_from_headings_rows_and_flattened_tables(text, prose):
    assert is_prose(text) is prose
