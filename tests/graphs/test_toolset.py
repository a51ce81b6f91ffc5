"""Grounding of the model's arguments in the dispatcher's words and the store (no model involved)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from copilot.core.domain import World
from graphs.grounding import _numbers, args_from_text, ground, ids_in_text, new_ids_in_text
from graphs.toolset import ACTIONS
from tools.world_io import read_world

DATA = Path(__file__).resolve().parents[1] / "data" / "worlds"


@pytest.fixture(scope="module")
def hz() -> World:
    return read_world(DATA / "hangzhou-0501")


@pytest.fixture(scope="module")
def jl() -> World:
    return read_world(DATA / "jilin-1001")


def test_numbers_in_digits_chinese_numerals_and_words() -> None:
    assert {129.0, 3.0} <= _numbers("129 区未来三天大概有多少单？")
    assert 12.0 in _numbers("十二个") and 20.0 in _numbers("二十") and 7.0 in _numbers("over the next week")
    assert 1234.0 in _numbers("1,234 parcels")


def test_ids_are_matched_case_and_dash_insensitively(hz: World) -> None:
    assert ids_in_text("plz plan today w/o hz-v4", hz, "vehicle") == ["HZ-V4"]
    assert ids_in_text("move P546630 to HZ-V6", hz, "order") == ["P546630"]
    assert new_ids_in_text("New pickup P900001 for Chen Jing", hz) == ["P900001"]
    assert new_ids_in_text("Which van has P546630?", hz) == []


def test_values_not_in_the_message_are_dropped_and_required_ones_asked_for(hz: World) -> None:
    text = "New pickup P900001 for Chen Jing at 30.4405, 120.2750: 2 parcels, window 15:00 to 16:00."
    raw = {
        "order_id": None,
        "kind": "pickup",
        "customer": "Chen Jing",
        "lat": 30.4405,
        "lng": 120.275,
        "demand": 3,
        "tw_start": "15:00",
        "tw_end": "17:00",
        "skill": "bulky",
    }
    g = ground(ACTIONS["new_order"], raw, hz, text, text, "en")
    assert g.args is not None
    args = g.args.model_dump()
    assert args["order_id"] == "P900001"  # taken from the message
    assert args["demand"] is None and args["skill"] is None  # 3 and bulky were never said
    assert (args["tw_start"], args["tw_end"]) == ("15:00", "16:00")  # the window the message states, not the model's 17:00
    assert args["lat"] == 30.4405
    missing = ground(ACTIONS["new_order"], {**raw, "lat": 31.0, "lng": 121.0}, hz, "add an order for Lee's Deli", "add an order for Lee's Deli", "en")
    assert missing.args is None and "location" in (missing.question or "")


def test_unknown_id_the_dispatcher_wrote_is_asked_about(hz: World) -> None:
    g = ground(ACTIONS["cancel_order"], {"order_id": "P1"}, hz, "cancel P1", "cancel P1", "en")
    assert g.args is None and "can't find order P1" in (g.question or "")
    zh = ground(ACTIONS["cancel_order"], {"order_id": "P1"}, hz, "取消订单 P1", "取消订单 P1", "zh")
    assert "找不到" in (zh.question or "")


def test_series_names_and_dates_are_normalised(jl: World) -> None:
    text = "How many deliveries did region 53 get from 24 to 30 September, in total?"
    raw = {"region": "region 53", "source": "history", "metric": "sum", "group_by": "date", "date_from": "2023-09-24", "date_to": "2023-09-30"}
    g = ground(ACTIONS["query"], raw, jl, text, text, "en")
    assert g.args is not None
    args = g.args.model_dump()
    assert (args["region"], args["date_from"], args["date_to"]) == ("53", "2022-09-24", "2022-09-30")  # the words' dates, not the model's
    assert args["group_by"] is None  # "in total": one number, whatever the model guessed
    zh = ground(ACTIONS["forecast"], {"region": "129 区", "days": 3}, jl, "129 区未来三天大概有多少单？", "129 区未来三天大概有多少单？", "zh")
    assert zh.args is not None and zh.args.model_dump() == {"region": "129", "days": 3}


def test_ids_only_actions_need_no_model_call_when_unambiguous(hz: World) -> None:
    assert args_from_text(ACTIONS["order_status"], "When will the driver get to P1446747?", hz) == {"order_id": "P1446747"}
    assert args_from_text(ACTIONS["move"], "Move P546630 to HZ-V6.", hz) == {"order_id": "P546630", "vehicle_id": "HZ-V6"}
    assert args_from_text(ACTIONS["notes"], "Summarise any special handling notes", hz) == {"order_id": None}
    assert args_from_text(ACTIONS["order_status"], "P546630 or P1446747?", hz) is None  # ambiguous: the model decides
    assert args_from_text(ACTIONS["new_order"], "New pickup P900001", hz) is None  # not an ids-only action
    # actions whose every value code can read from the words: a window, a duration, a shift end, a place
    assert args_from_text(ACTIONS["change_window"], "P546630 改成下午四点到六点", hz) == {"order_id": "P546630", "tw_start": "16:00", "tw_end": "18:00"}
    assert args_from_text(ACTIONS["delay"], "HZ-V5 要晚半小时", hz) == {"vehicle_id": "HZ-V5", "minutes": 30}
    assert args_from_text(ACTIONS["edit_vehicle"], "HZ-V1 has to stop at 3pm", hz) == {"vehicle_id": "HZ-V1", "shift_end": "15:00"}
    advice = args_from_text(ACTIONS["advise"], "room for 2 parcels at 30.43, 120.26 between 13:00 and 14:00?", hz)
    assert advice == {"lat": 30.43, "lng": 120.26, "demand": 2, "tw_start": "13:00", "tw_end": "14:00"}
    assert args_from_text(ACTIONS["edit_order"], "P546630 is 4 parcels now, not urgent any more", hz) == {
        "order_id": "P546630",
        "demand": 4,
        "priority": "normal",
        "required_skill": None,
        "tw_start": None,
        "tw_end": None,
    }
    assert args_from_text(ACTIONS["edit_order"], "P546630 改成下午四点到六点", hz) == {
        "order_id": "P546630",
        "demand": None,
        "priority": None,
        "required_skill": None,
        "tw_start": "16:00",
        "tw_end": "18:00",
    }


def test_query_shape_comes_from_the_words(jl: World) -> None:
    def shape(text: str, **raw: Any) -> tuple[Any, ...]:
        g = ground(ACTIONS["query"], {"source": "history", **raw}, jl, text, text, "en" if text.isascii() else "zh")
        assert g.args is not None, g.question
        a = g.args.model_dump()
        return a["group_by"], a["region"], a["order"], a["top_k"], a["date_from"], a["date_to"]

    assert shape("Which region was busiest in July?", group_by="date") == ("region", None, "desc", 1, "2022-07-01", "2022-07-31")
    assert shape("On which day in September did region 31 have the most?", group_by="region") == ("date", "31", "desc", 1, "2022-09-01", "2022-09-30")
    assert shape("129区 上周每天派了多少件？", group_by="region") == ("date", "129", None, None, "2022-09-19", "2022-09-25")
    assert shape("九月十号所有区域一共多少件", group_by="region") == (None, None, None, None, "2022-09-10", "2022-09-10")
    assert shape("Which 3 regions were quietest last month?", group_by=None)[0:4] == ("region", None, "asc", 3)
    assert shape("Top 3 regions by volume last month", group_by=None)[0:4] == ("region", None, "desc", 3)


def test_numbers_inside_ids_are_not_stated_numbers_and_future_questions_are_forecasts(jl: World, hz: World) -> None:
    from graphs.grounding import _numbers, future_only

    assert _numbers("HZ-V1 is stuck, 40 minutes behind; P1001 waits") == {40.0}
    assert future_only("129 区未来三天大概有多少单？", jl) and future_only("How many orders next week in region 31?", jl)
    assert not future_only("Forecast 165 for 7 days and compare with the past 7 days", jl)
    assert not future_only("How many orders did region 31 have?", jl)  # no period at all: the whole history


def test_questions_about_today_read_the_orders_and_forecast_days_come_from_the_words(jl: World, hz: World) -> None:
    from graphs.grounding import future_only

    text = "How many pickups do we have today?"
    g = ground(ACTIONS["query"], {"source": "history", "metric": "sum"}, hz, text, text, "en")
    assert g.args is not None and (g.args.source, g.args.kind, g.args.group_by) == ("orders", "pickup", None)
    assert not future_only(text, hz)
    assert args_from_text(ACTIONS["forecast"], "129 区未来三天大概有多少单？", jl) == {"region": None, "days": 3}
    assert args_from_text(ACTIONS["forecast"], "What will region 31 see next week?", jl) == {"region": None, "days": 7}
