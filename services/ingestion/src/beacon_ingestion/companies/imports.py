"""Company data files (fundamentals, daily prices, news) read from CSV or JSON.

Each row is validated on its own and every error is reported with its line number (CSV: the
physical line, header = line 1; JSON: the record's position in the array, from 1). A file with
any error imports nothing, so a corrected file can simply be imported again.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from beacon_ingestion.companies.sentiment import score_sentiment
from beacon_ingestion.domain import Fundamentals, NewsItem, Price, normalize_symbol, parse_period

T = TypeVar("T")
MAX_ROWS = 200_000


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str
    unit: str = "line"

    def detail(self) -> dict[str, Any]:
        return {"field": self.field, "message": f"{self.unit} {self.line}: {self.message}",
                "line": self.line}


class InvalidImport(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} invalid row(s)")
        self.errors = errors


class _RowInvalid(Exception):
    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message


def detect_format(filename: str | None, content_type: str | None, text: str) -> str:
    name = (filename or "").lower()
    ctype = (content_type or "").lower()
    if name.endswith(".json") or "json" in ctype:
        return "json"
    if name.endswith(".csv") or "csv" in ctype:
        return "csv"
    return "json" if text.lstrip().startswith(("[", "{")) else "csv"


def records(text: str, fmt: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(line number, unit, record) for each data row."""
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidImport([RowError(exc.lineno, "file", f"invalid JSON: {exc.msg}")]) from exc
        if isinstance(data, dict):
            data = next((v for v in data.values() if isinstance(v, list)), None)
        if not isinstance(data, list):
            raise InvalidImport([RowError(1, "file", "expected a JSON array of records")])
        for index, item in enumerate(data, start=1):
            yield index, "record", item if isinstance(item, dict) else {"__invalid__": item}
        return
    # newline="": the csv module reads line ends itself (a bare CR is a line end, not an error).
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        if not reader.fieldnames:
            raise InvalidImport([RowError(1, "file", "empty file")])
        for row in reader:
            clean = {(k or "").strip().lower(): (v.strip() if isinstance(v, str) else v)
                     for k, v in row.items()}
            yield reader.line_num, "line", clean
    except csv.Error as exc:
        raise invalid_csv(reader, exc) from exc


def invalid_csv(reader: csv.DictReader, exc: csv.Error) -> InvalidImport:
    """Malformed CSV is the client's error (a 400 listing where), never ours."""
    return InvalidImport([RowError(reader.line_num or 1, "file", f"invalid CSV: {exc}")])


def parse_rows(
    text: str, fmt: str, parse_one: Callable[[dict[str, Any]], T]
) -> list[tuple[int, str, T]]:
    """(line, unit, parsed row) for every row, or InvalidImport listing every bad row."""
    rows: list[tuple[int, str, T]] = []
    errors: list[RowError] = []
    for count, (line, unit, record) in enumerate(records(text, fmt), start=1):
        if count > MAX_ROWS:
            errors.append(RowError(line, "file", f"more than {MAX_ROWS} rows", unit))
            break
        try:
            if "__invalid__" in record:
                raise _RowInvalid("record", "expected an object")
            rows.append((line, unit, parse_one({k.lower(): v for k, v in record.items()})))
        except _RowInvalid as exc:
            errors.append(RowError(line, exc.field, exc.message, unit))
        if len(errors) >= 100:
            break
    if errors:
        raise InvalidImport(errors)
    if not rows:
        raise InvalidImport([RowError(1, "file", "no rows in the file")])
    return rows


# ---------------------------------------------------------------- field readers


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in ("", "-", "NA", "null"))


def _required(row: dict[str, Any], name: str) -> Any:
    value = row.get(name)
    if _blank(value):
        raise _RowInvalid(name, "required")
    return value


def _symbol(row: dict[str, Any]) -> str:
    try:
        return normalize_symbol(str(_required(row, "symbol")))
    except ValueError as exc:
        raise _RowInvalid("symbol", str(exc)) from exc


def _decimal(row: dict[str, Any], name: str, *, required: bool = False) -> Decimal | None:
    value = row.get(name)
    if _blank(value):
        if required:
            raise _RowInvalid(name, "required")
        return None
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation as exc:
        raise _RowInvalid(name, f"not a number: {value!r}") from exc
    if not number.is_finite():
        raise _RowInvalid(name, "not a finite number")
    return number


def _float(row: dict[str, Any], name: str, *, required: bool = False) -> float | None:
    number = _decimal(row, name, required=required)
    return None if number is None else float(number)


def _date(row: dict[str, Any], name: str, *, required: bool = True) -> date | None:
    value = row.get(name)
    if _blank(value):
        if required:
            raise _RowInvalid(name, "required")
        return None
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError as exc:
        raise _RowInvalid(name, f"not a date (YYYY-MM-DD): {value!r}") from exc


def _datetime(row: dict[str, Any], name: str) -> datetime:
    value = str(_required(row, name)).strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _RowInvalid(name, f"not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# ---------------------------------------------------------------- row parsers


def parse_fundamentals_row(row: dict[str, Any]) -> Fundamentals:
    symbol = _symbol(row)
    try:
        period = parse_period(str(_required(row, "period")))
    except ValueError as exc:
        raise _RowInvalid("period", str(exc)) from exc
    if period.period_type not in ("annual", "quarterly"):
        raise _RowInvalid("period", f"{period.label}: fundamentals are annual or quarterly")
    declared = row.get("period_type")
    if not _blank(declared) and str(declared).strip().lower() != period.period_type:
        raise _RowInvalid("period_type", f"{period.label} is {period.period_type}, not {declared}")
    end = _date(row, "period_end_date", required=False) or period.end_date
    values = {name: _decimal(row, name) for name in ("revenue", "net_income", "market_cap")}
    ratios = {name: _float(row, name) for name in ("eps", "pe_ratio", "roe", "debt_to_equity")}
    if all(v is None for v in (*values.values(), *ratios.values())):
        raise _RowInvalid("revenue", "a row needs at least one figure")
    return Fundamentals(symbol=symbol, period=period.label, period_type=period.period_type,
                        period_end_date=end, **values, **ratios)


def parse_price_row(row: dict[str, Any]) -> Price:
    symbol = _symbol(row)
    day = _date(row, "date")
    o, h, low, c = (_float(row, n, required=True) for n in ("open", "high", "low", "close"))
    assert o is not None and h is not None and low is not None and c is not None
    for name, value in (("open", o), ("high", h), ("low", low), ("close", c)):
        if value <= 0 or math.isnan(value):
            raise _RowInvalid(name, "must be positive")
    if h < max(o, c, low) or low > min(o, c, h):
        raise _RowInvalid("high", "high/low do not bound open and close")
    volume = _decimal(row, "volume")
    if volume is not None and (volume < 0 or volume != volume.to_integral_value()):
        raise _RowInvalid("volume", "must be a non-negative integer")
    return Price(symbol=symbol, date=day, open=o, high=h, low=low, close=c,  # type: ignore[arg-type]
                 volume=None if volume is None else int(volume))


def parse_news_row(row: dict[str, Any]) -> NewsItem:
    symbol = _symbol(row)
    title = str(_required(row, "title")).strip()
    url = str(_required(row, "url")).strip()
    if not url.startswith(("http://", "https://")):
        raise _RowInvalid("url", "must be an http(s) URL")
    summary = None if _blank(row.get("summary")) else str(row["summary"]).strip()
    sentiment = score_sentiment(f"{title}. {summary or ''}")
    return NewsItem(
        symbol=symbol, title=title[:500], url=url[:2000], published_at=_datetime(row, "published_at"),
        source=None if _blank(row.get("source")) else str(row["source"]).strip()[:200],
        summary=summary, sentiment=sentiment.label, sentiment_score=sentiment.score,
    )


PARSERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "fundamentals": parse_fundamentals_row,
    "prices": parse_price_row,
    "news": parse_news_row,
}
