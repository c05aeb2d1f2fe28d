"""The evaluation set's splits: every question can be selected by `rag_eval.py --split`, and the
annual-report splits never mix filings, so the held-out annual reports stay a blind check."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
EVAL = ROOT / "bench" / "eval"


def load_rag_eval():
    spec = importlib.util.spec_from_file_location("rag_eval_splits", ROOT / "bench" / "rag_eval.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["rag_eval_splits"] = module
    spec.loader.exec_module(module)
    return module


def test_every_question_split_is_a_split_choice():
    bench = load_rag_eval()
    questions = json.loads((EVAL / "questions.json").read_text())
    assert {q["split"] for q in questions} <= set(bench.SPLITS) - {"all"}


def test_annual_questions_only_touch_filings_of_their_own_split():
    documents = {d["id"]: d for d in json.loads((EVAL / "documents.json").read_text())["documents"]}
    questions = json.loads((EVAL / "questions.json").read_text())
    annual = [q for q in questions if q["split"] in ("annual_tune", "annual_heldout")]
    assert {q["split"] for q in annual} == {"annual_tune", "annual_heldout"}
    for q in annual:
        assert {documents[f]["split"] for f in q["filings"]} == {q["split"]}, q["id"]
        assert [part["filing"] for part in q["evidence"]] == q["filings"], q["id"]


def test_split_selection_returns_only_that_split():
    bench = load_rag_eval()
    questions = json.loads((EVAL / "questions.json").read_text())
    picked = bench.select_questions(questions, "annual_tune", None)
    assert picked and all(q["split"] == "annual_tune" for q in picked)
    assert len(bench.select_questions(questions, "all", None)) == len(questions)
