"""Time words a dispatcher writes, read into exact values: times of day, time windows, durations, dates, periods.

The chat agent grounds what the model fills in with these functions: a reply that says "16:00" must come
from "下午四点" or "4pm" in the dispatcher's own words. Everything here is a pure function of the text
(and, for dates, of the operating day it is anchored at); nothing is guessed beyond the rules below.

Who does what:

* `cn2an` turns every run of Chinese numerals into digits first ("二十六" -> 26, "两" -> 2, "二零二二" -> 2022),
  so every rule below reads digits only;
* `dateparser` reads English dates written with month names ("Sep 10th", "10th of September",
  "September 10, 2022", "March 2021"), the relative day words of both languages ("yesterday", "前天",
  "3 days ago", "3天前") and the arithmetic of rolling windows ("past 7 days", "过去两周", "next three days"),
  and English duration words ("two hours", "an hour", "twenty five minutes", "1.5 hours");
* a few small rules of our own find where such words stand in a sentence (so ids, coordinates and counts
  are never read as times or dates), read the Chinese forms with digits (``9月10日``, ``下午3点15分``,
  ``1个半小时``), carry am/pm across a window ("下午四点到六点", "between 1 and 3pm"), turn weeks and months
  into Monday-Sunday weeks and calendar months, and choose the year of a date written without one.

Conventions (the operating day is the anchor; history lies before it):

* a month without a year is the most recent such month that does not start after the anchor's month;
* a day without a year is in the anchor's year unless that puts it more than 183 days after the anchor,
  then in the year before; a year written out always wins;
* "last week"/"上周" is the Monday-Sunday week before the anchor's week, "this week"/"本周" the anchor's own
  week (all seven days), "next week"/"下周" the one after; months and years likewise by the calendar;
* "past/last N days"/"过去N天"/"最近N天"/"前N天" are the N days before the anchor (the anchor excluded),
  "next N days"/"未来N天"/"接下来N天" are N days starting at the anchor; "past week"/"最近一周" is 7 days;
* a weekday ("Monday", "周一") is that day of the anchor's week, "last/上" of the week before, "next/下" of
  the week after;
* an hour written without am/pm or a part of the day ("两点", "3:30") is kept as written, unless the other
  end of a window carries pm and moving it to the afternoon keeps the window in order.

The readers live in submodules: :mod:`tools.timewords.clock` (times of day and windows),
:mod:`tools.timewords.durations`, :mod:`tools.timewords.dates` (dates and periods); the normalising and
the ``dateparser`` reading they share are in :mod:`tools.timewords._text`.
"""

from __future__ import annotations

from tools.timewords.clock import time_range, times_of_day
from tools.timewords.dates import Period, periods
from tools.timewords.durations import duration_minutes

__all__ = ["Period", "duration_minutes", "periods", "time_range", "times_of_day"]
