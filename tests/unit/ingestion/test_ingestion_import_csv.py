"""Malformed CSV in an import is the client's error (400), never a 500 (found by the fuzzer)."""

from __future__ import annotations

import pytest

from beacon_ingestion.companies.catalogue import parse_constituents
from beacon_ingestion.companies.imports import PARSERS, InvalidImport, parse_rows


@pytest.mark.parametrize("text", ["\U00014b83\rA\U00086192g\x94(».\x0c", 'a,b\n"unclosed,1\n', "x\x00y\n1"])
def test_malformed_csv_is_an_invalid_import(text):
    with pytest.raises(InvalidImport) as refused:
        parse_rows(text, "csv", PARSERS["prices"])
    assert refused.value.errors


def test_bare_carriage_returns_end_lines():
    rows = parse_rows("symbol,close\rINFY.NS,1\rTCS.NS,2\r", "csv", lambda row: row["symbol"])
    assert [row for _, _, row in rows] == ["INFY.NS", "TCS.NS"]


@pytest.mark.parametrize("text", ["Company Name,Industry,Symbol\r\n\"x\ry\",IT,X\n\"unclosed\n", "\x00\r\n"])
def test_malformed_constituent_list_is_an_invalid_import(text):
    with pytest.raises(InvalidImport) as refused:
        parse_constituents(text)
    assert refused.value.errors
