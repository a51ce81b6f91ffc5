"""tools.timewords against a corpus of dispatcher phrasings in English and Chinese, expected values worked out by hand.

Each line of ``tests/data/timewords_corpus.jsonl`` names a function, a text, the operating day for dates
(``anchor``) and the exact expected value; negatives (no time, no date) expect ``[]`` or ``null``.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tools.timewords import Period, duration_minutes, periods, time_range, times_of_day

CORPUS = Path(__file__).resolve().parents[1] / "data" / "timewords_corpus.jsonl"
LINES: list[dict[str, Any]] = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def _got(case: dict[str, Any]) -> Any:
    fn, text = case["fn"], case["text"]
    if fn == "times_of_day":
        return times_of_day(text)
    if fn == "time_range":
        got = time_range(text)
        return None if got is None else list(got)
    if fn == "duration_minutes":
        return duration_minutes(text)
    if fn == "periods":
        return [[p.start.isoformat(), p.end.isoformat()] for p in periods(text, date.fromisoformat(case["anchor"]))]
    raise AssertionError(f"unknown function {fn!r}")


@pytest.mark.parametrize("case", LINES, ids=[f"{c['fn']}:{c['text']}@{c.get('anchor', '')}" for c in LINES])
def test_corpus(case: dict[str, Any]) -> None:
    assert _got(case) == case["expected"]


def test_corpus_covers_both_languages_and_every_function() -> None:
    langs = Counter(c["lang"] for c in LINES)
    assert len(LINES) >= 150
    assert langs["en"] >= 0.4 * len(LINES) and langs["zh"] >= 0.4 * len(LINES)
    by_fn = Counter((c["lang"], c["fn"]) for c in LINES)
    for lang in ("en", "zh"):
        for fn in ("times_of_day", "time_range", "duration_minutes", "periods"):
            assert by_fn[(lang, fn)] >= 10, (lang, fn)
    negatives = [c for c in LINES if c["expected"] in ([], None)]
    assert len(negatives) >= 20


def test_period_text_is_the_original_words() -> None:
    anchor = date(2022, 10, 1)
    got = periods("请看九月二十号至二十六号和昨天的单量", anchor)
    assert got == [Period(date(2022, 9, 20), date(2022, 9, 26), "九月二十号至二十六号"), Period(date(2022, 9, 30), date(2022, 9, 30), "昨天")]
    assert [p.text for p in periods("orders from Sept 20-26, then last week", anchor)] == ["Sept 20-26", "last week"]


def test_period_is_frozen() -> None:
    p = Period(date(2022, 9, 1), date(2022, 9, 30), "九月")
    with pytest.raises(AttributeError):
        p.start = date(2022, 9, 2)  # type: ignore[misc]


def test_times_keep_order_of_appearance_across_languages() -> None:
    assert times_of_day("HZ-V2 at 9am, then 下午三点, back by 18:30") == ["09:00", "15:00", "18:30"]
    assert time_range("first 8-9am, later 2pm to 4pm") == ("08:00", "09:00")
