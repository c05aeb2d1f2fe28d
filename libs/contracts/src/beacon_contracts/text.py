"""String types for every text field of both contracts: control characters never reach a store.

- `Line`: identifiers and short fields (emails, ids, symbols, names, titles of sections,
  `Session-Id`). No control character at all (Unicode category Cc: C0, DEL, C1).
- `Text`: free text (questions, feedback, review notes and edits, refine prompts, document
  titles, the decoded text of a refine). Tab, CR and LF are allowed; other controls are not.

A NUL in a question used to reach Postgres (which refuses it) and dead-letter the job;
other controls are invisible in every UI. Gateway request models and the internal services'
models use these types, so the same input is refused the same way in every mode.
Lengths stay per field: `Annotated[Text, Field(min_length=10, max_length=2000)]`.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

# One class for the JSON schema (documentation, fuzzers) and the check (clear messages).
_LINE_FORBIDDEN = "\\x00-\\x1f\\x7f-\\x9f"
_TEXT_FORBIDDEN = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f"
LINE_PATTERN = f"^[^{_LINE_FORBIDDEN}]*$"
TEXT_PATTERN = f"^[^{_TEXT_FORBIDDEN}]*$"
_LINE_BAD = re.compile(f"[{_LINE_FORBIDDEN}]")
_TEXT_BAD = re.compile(f"[{_TEXT_FORBIDDEN}]")


def is_line(value: str) -> bool:
    return _LINE_BAD.search(value) is None


def check_line(value: str) -> str:
    if _LINE_BAD.search(value):
        raise ValueError("must not contain control characters")
    return value


def check_text(value: str) -> str:
    if _TEXT_BAD.search(value):
        raise ValueError("must not contain control characters other than tab, CR and LF")
    return value


Line = Annotated[str, AfterValidator(check_line), Field(json_schema_extra={"pattern": LINE_PATTERN})]
Text = Annotated[str, AfterValidator(check_text), Field(json_schema_extra={"pattern": TEXT_PATTERN})]
