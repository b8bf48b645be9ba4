"""Input rules shared by every write: names, trades, ratings, values and dates.

Each function returns the cleaned value or raises :class:`~graph.errors.ValidationError`
naming the offending field.

>>> clean_trades(["  Plumbing", "heating ", "plumbing"], ["input", "trades"])
['plumbing', 'heating']
>>> clean_name("  Ada  Lovelace ", ["input", "name"])
'Ada  Lovelace'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from graph import timeutil
from graph.errors import ValidationError
from graph.pagination import PageArgumentError, decode_cursor

NAME_MAX = 200
NOTE_MAX = 2000
TRADES_MIN, TRADES_MAX = 1, 10
TRADE_MIN_LEN, TRADE_MAX_LEN = 2, 50
RATING_MIN, RATING_MAX = 1, 5
# The largest amount one job may carry. Sums over many jobs (reciprocity, reputation) must stay
# finite and exact enough to compare: a billion per job leaves room for billions of jobs.
VALUE_MAX = 1e9
# Dates before or after these years are typing mistakes, not history; outside them the store's
# fixed-width text and UTC conversions would no longer hold.
YEAR_MIN, YEAR_MAX = 1900, 2200
# A completed job cannot lie in the future; allow for clocks a little ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)
# The longest month by month trend of reciprocity: ten years.
MAX_MONTHS = 120
# The most dimensions referral statistics group by: more make rows of one referral each.
MAX_GROUP_BY = 4
SINCE_BEFORE_UNTIL = "since must be before until"


def clean_name(value: str, field: Sequence[str]) -> str:
    name = value.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise ValidationError(f"must be 1 to {NAME_MAX} characters after trimming", field)
    return name


def clean_optional_text(value: str | None, field: Sequence[str], limit: int) -> str | None:
    """Trimmed text of 1..limit characters, or None when absent or blank."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if len(text) > limit:
        raise ValidationError(f"must be at most {limit} characters", field)
    return text


def clean_area(value: str | None, field: Sequence[str]) -> str | None:
    return clean_optional_text(value, field, NAME_MAX)


def clean_note(value: str | None, field: Sequence[str]) -> str | None:
    return clean_optional_text(value, field, NOTE_MAX)


_TRADE_CHARS = re.compile(r"^[\w -]+$")


def clean_trade(value: str, field: Sequence[str]) -> str:
    """One trade name: lowercase, trimmed, inner spaces collapsed; letters, digits, spaces and
    hyphens, 2..50 characters."""
    trade = " ".join(value.split()).lower()
    if not TRADE_MIN_LEN <= len(trade) <= TRADE_MAX_LEN:
        raise ValidationError(
            f"a trade must be {TRADE_MIN_LEN} to {TRADE_MAX_LEN} characters", field
        )
    if not _TRADE_CHARS.match(trade) or "_" in trade:
        raise ValidationError("a trade may hold only letters, digits, spaces and hyphens", field)
    return trade


def clean_trades(values: Sequence[str], field: Sequence[str]) -> list[str]:
    trades: list[str] = []
    for i, value in enumerate(values):
        trade = clean_trade(value, [*field, str(i)])
        if trade not in trades:
            trades.append(trade)
    if not TRADES_MIN <= len(trades) <= TRADES_MAX:
        raise ValidationError(
            f"a professional has {TRADES_MIN} to {TRADES_MAX} distinct trades", field
        )
    return trades


def check_rating(value: int | None, field: Sequence[str]) -> int | None:
    if value is not None and not RATING_MIN <= value <= RATING_MAX:
        raise ValidationError(
            f"a rating is an integer from {RATING_MIN} to {RATING_MAX}, or null", field
        )
    return value


def check_value(value: float | None, field: Sequence[str]) -> float | None:
    """An amount from 0 to ``VALUE_MAX``, or None.

    >>> check_value(1.7e308, ["input", "value"])
    Traceback (most recent call last):
    ...
    graph.errors.ValidationError: a value is a finite amount from 0 to 1000000000
    """
    if value is not None and not (math.isfinite(value) and 0 <= value <= VALUE_MAX):
        raise ValidationError(f"a value is a finite amount from 0 to {VALUE_MAX:.0f}", field)
    return None if value is None else float(value)


def check_aware(value: datetime, field: Sequence[str]) -> datetime:
    """A date-time with a UTC offset, in the years ``YEAR_MIN`` to ``YEAR_MAX``.

    Every date-time that comes in (inputs, window arguments) passes here. The year is checked
    as given, before any conversion to UTC, which would overflow at the ends of the calendar.
    """
    if not timeutil.is_aware(value):
        raise ValidationError("a date-time needs a UTC offset, e.g. +00:00", field)
    if not YEAR_MIN <= value.year <= YEAR_MAX:
        raise ValidationError(
            f"a date-time must lie in the years {YEAR_MIN} to {YEAR_MAX}", field
        )
    return value


def check_past(value: datetime, field: Sequence[str]) -> datetime:
    check_aware(value, field)
    if value > timeutil.now() + CLOCK_SKEW:
        raise ValidationError("a completed job cannot lie in the future", field)
    return value


def check_window(
    since: datetime | None, until: datetime | None, field: Sequence[str] = ()
) -> tuple[str | None, str | None]:
    """A [since, until) window as store text; either end may be open."""
    for name, value in (("since", since), ("until", until)):
        if value is not None:
            check_aware(value, [*field, name])
    if since is not None and until is not None and since >= until:
        raise ValidationError(SINCE_BEFORE_UNTIL, [*field, "until"])
    return (
        None if since is None else timeutil.to_store(since),
        None if until is None else timeutil.to_store(until),
    )


# Rules for the arguments of reads, by the coordinates of the field that takes them. The API
# applies them to every field that takes them before anything runs (a bad page argument in the
# selection of a mutation's result would otherwise fail only after the mutation had written),
# so a request never reaches a function behind a field with an argument they refuse. Some of
# those functions still check what their own work depends on, for callers other than the API
# (scripts, tests, each other): a page's first and after (graph.pagination.PageRequest), a
# window's ends and order (check_window), a trade's spelling (clean_trade, which also
# normalises it).


@dataclass(frozen=True)
class Rule:
    """``problem(value)`` says what is wrong with a given value, or None when it is fine."""

    problem: Callable[[Any], str | None]


def is_integer(value: Any) -> bool:
    """Whether ``value`` is an integer to check; null (the argument's default) and values of
    another type (which GraphQL's own coercion refuses) are not."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Bounded:
    """An integer from 1 to a configured maximum: ``name`` is the argument, whose maximum the
    service's settings give (``first``: RG_MAX_FIRST, ``limit``: RG_MAX_LIMIT, ``maxHops``:
    RG_MAX_HOPS)."""

    name: str

    def problem(self, value: Any, maximum: int) -> str | None:
        """What is wrong with ``value`` under ``maximum``, or None when it is fine."""
        if not is_integer(value) or 1 <= value <= maximum:
            return None
        return f"must be between 1 and {maximum}, got {value}"


ArgumentRule = Rule | Bounded


def _datetime(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None  # not a date-time at all: the DateTime scalar refuses it
    try:
        check_aware(parsed, [])
    except ValidationError as exc:
        return exc.message
    return None


def _trade(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        clean_trade(value, [])
    except ValidationError as exc:
        return exc.message
    return None


def _cursor(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        decode_cursor(value)
    except PageArgumentError as exc:
        return str(exc)
    return None


def _months(value: Any) -> str | None:
    if not is_integer(value) or 1 <= value <= MAX_MONTHS:
        return None
    return f"must be between 1 and {MAX_MONTHS}"


def _min_gap(value: Any) -> str | None:
    return None if not is_integer(value) or value >= 1 else "must be at least 1"


def min_score_problem(value: Any) -> str | None:
    """What is wrong with a risk score threshold (``minScore``), or None when it is fine.

    >>> min_score_problem(0.5), min_score_problem(1.5)
    (None, 'must be between 0 and 1')
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None  # null (the default) or a value GraphQL's Float coercion refuses
    if not (math.isfinite(value) and 0 <= value <= 1):
        return "must be between 0 and 1"
    return None


def group_by_problem(value: Any) -> str | None:
    """What is wrong with the dimensions of referral statistics (``groupBy``), or None.

    >>> group_by_problem(["MONTH", "TRADE"]), group_by_problem(["MONTH", "MONTH"])
    (None, 'a dimension may appear only once')
    """
    dimensions = [value] if isinstance(value, str) else value
    if not isinstance(dimensions, list):
        return None  # null, which GraphQL refuses for a non-null list
    if len(set(map(str, dimensions))) != len(dimensions):
        return "a dimension may appear only once"
    if len(dimensions) > MAX_GROUP_BY:
        return f"at most {MAX_GROUP_BY} dimensions"
    return None


def window_problem(since: Any, until: Any) -> str | None:
    """What is wrong with a [since, until) window given as ISO text when it ends before it
    starts, else None (unparseable or naive ends are refused by their own rules). The rule of
    every field that takes both ``since`` and ``until``."""
    if not (isinstance(since, str) and isinstance(until, str)):
        return None
    try:
        out_of_order = datetime.fromisoformat(since) >= datetime.fromisoformat(until)
    except (ValueError, TypeError):
        return None
    return SINCE_BEFORE_UNTIL if out_of_order else None


FIRST, LIMIT, MAX_HOPS = Bounded("first"), Bounded("limit"), Bounded("maxHops")
CURSOR, DATETIME, TRADE = Rule(_cursor), Rule(_datetime), Rule(_trade)
PAGE: Mapping[str, ArgumentRule] = {"first": FIRST, "after": CURSOR}
WINDOW: Mapping[str, ArgumentRule] = {"since": DATETIME, "until": DATETIME}

ARGUMENT_RULES: Mapping[str, Mapping[str, ArgumentRule]] = {
    "Query.professionals": {"trade": TRADE, **PAGE},
    "Query.customers": PAGE,
    "Query.referrals": PAGE,
    "Query.networks": PAGE,
    "Query.trustPaths": {"limit": LIMIT, "maxHops": MAX_HOPS},
    "Query.referralStats": {"groupBy": Rule(group_by_problem), **WINDOW},
    "Query.riskyProfessionals": {"minScore": Rule(min_score_problem), **PAGE},
    "Professional.jobs": PAGE,
    "Professional.referralsReceived": PAGE,
    "Professional.referralsGiven": PAGE,
    "Professional.partnerRecommendations": {"limit": LIMIT},
    "Professional.reciprocity": WINDOW,
    "Professional.reciprocityTrend": {"months": Rule(_months)},
    "Professional.topReferrers": {**WINDOW, "limit": LIMIT},
    "Professional.referralFunnel": WINDOW,
    "Customer.jobs": PAGE,
    "Customer.referralsMade": PAGE,
    "Customer.referralsReceived": PAGE,
    "Customer.trustedProfessionals": {"trade": TRADE, "limit": LIMIT, "maxHops": MAX_HOPS},
    "Customer.rewards": PAGE,
    "Professional.rewards": PAGE,
    "RewardProgram.rewards": PAGE,
    "Network.members": PAGE,
    "Network.invited": PAGE,
    "Network.reciprocity": WINDOW,
    "Network.gaps": WINDOW,
    "Network.imbalancedPairs": {"minGap": Rule(_min_gap)},
    "Network.leaderboard": {**WINDOW, "limit": LIMIT},
    "Network.referralFunnel": WINDOW,
    "Network.reciprocityMatrix": WINDOW,
    "Network.reciprocityTrend": {"months": Rule(_months)},
    "NetworkGaps.unconnectedPairs": {"limit": LIMIT},
    "NetworkReciprocity.givers": {"limit": LIMIT},
    "NetworkReciprocity.takers": {"limit": LIMIT},
    "TradeGap.candidates": {"limit": LIMIT},
    "Query.webhooks": PAGE,
    "Webhook.deliveries": PAGE,
}
