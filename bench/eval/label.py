"""Gold pages for bench/eval/questions.json, from the evidence each question names.

Every question carries `evidence`: one list of strings per part of its answer (a comparison
has one per company), each part tied to a filing. A page is gold for a part when its text
(pypdf, as ingestion extracts it; whitespace, quotes and currency signs normalised, case
ignored) contains
every string of that part. Any gold page of a part counts as finding it (the same figure is
often printed twice: the statement and the MD&A); recall over a question is the share of its
parts found. Writing the pages down from evidence, rather than by hand, keeps the labels
checkable: `label.py --check` fails when a filing's text no longer yields the stored pages.

    uv run python bench/eval/label.py          # (re)write gold pages into questions.json
    uv run python bench/eval/label.py --check  # verify them
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def normalise(text: str) -> str:
    # Currency signs are dropped: a statement prints "$ 81,797" where a note prints "81,797".
    text = re.sub(r"[$€₹]", " ", text.translate(QUOTES))
    return re.sub(r"\s+", " ", text).strip().lower()


def filings_dir(manifest: dict) -> Path:
    import os

    return Path(os.environ.get("EVAL_FILINGS_DIR", manifest["filings_dir_default"]))


def page_texts(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [normalise(page.extract_text() or "") for page in PdfReader(path).pages]


def gold_pages(pages: list[str], strings: list[str]) -> list[int]:
    wanted = [normalise(s) for s in strings]
    return [n for n, text in enumerate(pages, 1) if all(w in text for w in wanted)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    manifest = json.loads((HERE / "documents.json").read_text())
    questions = json.loads((HERE / "questions.json").read_text())
    root = filings_dir(manifest)
    texts = {d["id"]: page_texts(root / d["file"]) for d in manifest["documents"]}
    bad = 0
    for q in questions:
        parts = []
        for part in q["evidence"]:
            pages = gold_pages(texts[part["filing"]], part["text"])
            if not pages:
                print(f"{q['id']}: no page of {part['filing']} holds {part['text']}", file=sys.stderr)
                bad += 1
            parts.append(pages)
        if args.check and parts != q.get("gold"):
            print(f"{q['id']}: gold {q.get('gold')} but the filings give {parts}", file=sys.stderr)
            bad += 1
        q["gold"] = parts
    if not args.check:
        (HERE / "questions.json").write_text(json.dumps(questions, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(questions)} questions, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
