"""Day-7 recommendations: each one states the figures it rests on, or is not made.

A recommendation is data: its ``kind``, a ``message`` in plain English and the ``evidence``
(the counts behind it), so a dashboard and a report render the same thing. The rules, stated
in docs/ANALYTICS.md ("Recommendations"):

- One group is favoured over another (a channel over a channel) only when the difference is
  significant (:mod:`barberpro.analytics.significance`) and each group has ``MIN_GROUP_UNITS``.
- Ties are said as ties: no hour, province or step is picked among equals by accident.
- Every underserved province is ranked, each funnel scope with enough units has its leak.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from barberpro.analytics import significance
from barberpro.analytics.funnel_definition import UNKNOWN
from barberpro.api.numbers import RATE_DECIMALS, rate
from barberpro.argentina import CHANNELS

MIN_INSTALLMENT_ATTEMPTS = 10
LOW_APPROVAL = 0.80
#: Groups are compared only when each has at least this many units.
MIN_GROUP_UNITS = 20
#: A funnel scope (all units, or one breakdown value) is searched for its leak from this many.
MIN_LEAK_UNITS = 10
#: The busiest ART hours named, with every hour tied with the last of them.
PEAK_HOURS = 3

_TESTS = {"fisher_exact": "Fisher's exact test", "two_proportion_z": "two-proportion z-test"}
_SCOPES = {"province": "Province", "device": "Device", "referral_channel": "Channel"}


def recommend(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Return recommendations drawn from a BI report's sections."""
    found: list[dict[str, Any]] = []
    found.extend(_funnel_leaks(report["funnel"]))
    found.extend(_underserved(report["market"]))
    found.extend(_installments(report["revenue"]))
    found.extend(_channels(report["referrals"]))
    found.extend(_peak_hours(report["revenue"]))
    return found


# -- funnel ------------------------------------------------------------------------------------


def _funnel_leaks(funnel: dict[str, Any]) -> list[dict[str, Any]]:
    """The leak of all units, then of each breakdown value with MIN_LEAK_UNITS units."""
    found = [_leak(funnel["steps"], breakdown=None, value=None, name=None)]
    for breakdown, groups in funnel["breakdowns"].items():
        for group in groups:
            if group["units"] == funnel["units"]:
                continue  # the group holds every unit: its funnel is the overall one
            found.append(
                _leak(
                    group["steps"],
                    breakdown=breakdown,
                    value=group["value"],
                    name=group.get("name"),
                )
            )
    return [leak for leak in found if leak is not None]


def _leak(
    steps: Sequence[dict[str, Any]], *, breakdown: str | None, value: str | None, name: str | None
) -> dict[str, Any] | None:
    """The step losing most units of one scope (the earliest on a tie), if any is lost."""
    units = steps[0]["units"] if steps else 0
    if units < MIN_LEAK_UNITS:
        return None
    worst = max(steps[1:], key=lambda s: (s["drop_off"], -s["step"]))
    if worst["drop_off"] == 0:
        return None
    before = steps[worst["step"] - 2]
    reached = f"{worst['units']} reached {worst['name']}"
    if before["step"] > 1:
        reached = f"{before['units']} reached {before['name']} and {worst['units']} {worst['name']}"
    return {
        "kind": "funnel_leak",
        "message": (
            f"{_scope(breakdown, value, name)}: of {units} units that searched, {reached}; "
            f"the funnel loses {worst['drop_off']} of {before['units']} "
            f"({_percent(worst['drop_off_rate'])}) between {before['name']} and "
            f"{worst['name']}: look at that step first."
        ),
        "evidence": {
            "breakdown": breakdown,
            "value": value,
            "name": name,
            "units": units,
            "min_units": MIN_LEAK_UNITS,
            "from_step": before["name"],
            "to_step": worst["name"],
            "units_before": before["units"],
            "units_after": worst["units"],
            "drop_off": worst["drop_off"],
            "drop_off_rate": worst["drop_off_rate"],
        },
    }


def _scope(breakdown: str | None, value: str | None, name: str | None) -> str:
    if breakdown is None:
        return "All units"
    if value == UNKNOWN:
        return f"Units of unknown {_SCOPES[breakdown].lower()}"
    return f"{_SCOPES[breakdown]} {name} ({value})" if name else f"{_SCOPES[breakdown]} {value}"


# -- market ------------------------------------------------------------------------------------


def _underserved(market: dict[str, Any]) -> list[dict[str, Any]]:
    """Every province with enough demand and no barber, or with at least the demand per
    barber of all those provinces together, ranked by demand per barber (none first)."""
    candidates = [
        r for r in market["provinces"] if r["demand"] >= market["min_demand"] and r["demand"] > 0
    ]
    served = [r for r in candidates if r["active_providers"]]
    demand = sum(r["demand"] for r in served)
    barbers = sum(r["active_providers"] for r in served)
    # Compared as integers: demand / providers >= demand_all / barbers_all, no rounding.
    pressed = [
        r
        for r in candidates
        if not r["active_providers"] or r["demand"] * barbers >= demand * r["active_providers"]
    ]
    pressed.sort(
        key=lambda r: (
            r["active_providers"] > 0,
            -Fraction(r["demand"], r["active_providers"] or 1),
            -r["demand"],
            r["province"],
        )
    )
    benchmark = rate(demand, barbers)
    found = []
    for rank, row in enumerate(pressed, start=1):
        ratio, supply = row["demand_per_provider"], row["active_providers"]
        if ratio is None:
            per = "and no active barber"
        else:
            per = (
                f"for {_count(supply, 'active barber')}, {ratio:.1f} per barber against "
                f"{benchmark:.1f} across the provinces with demand"
            )
        found.append(
            {
                "kind": "underserved_province",
                "message": (
                    f"{row['name']} ({row['province']}) ranks {rank} of {len(pressed)} "
                    f"underserved provinces: {row['demand']} searches and bookings {per}; "
                    "recruit barbers there."
                ),
                "evidence": {
                    key: row[key]
                    for key in (
                        "province",
                        "name",
                        "searches",
                        "bookings",
                        "demand",
                        "active_providers",
                        "demand_per_provider",
                    )
                }
                | {
                    "min_demand": market["min_demand"],
                    "rank": rank,
                    "provinces_ranked": len(pressed),
                    "benchmark_demand_per_provider": benchmark,
                },
            }
        )
    return found


# -- revenue -----------------------------------------------------------------------------------


def _installments(revenue: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for plan in revenue["installments"]:
        attempts = plan["approved"] + plan["rejected"]
        if attempts < MIN_INSTALLMENT_ATTEMPTS or plan["approval_rate"] >= LOW_APPROVAL:
            continue
        found.append(
            {
                "kind": "installments_low_approval",
                "message": (
                    f"Payments in {plan['installments']} cuotas are approved only "
                    f"{plan['approval_rate']:.0%} of the time ({plan['approved']} of {attempts}): "
                    "review that plan with MercadoPago or steer clients to fewer cuotas."
                ),
                "evidence": plan | {"threshold": LOW_APPROVAL},
            }
        )
    return found


def _peak_hours(revenue: dict[str, Any]) -> list[dict[str, Any]]:
    """The PEAK_HOURS busiest ART hours and every hour tied with the last of them."""
    busy = sorted(
        (h for h in revenue["hourly_art"] if h["payments"]),
        key=lambda h: (-h["payments"], h["hour"]),
    )
    if not busy:
        return []
    cutoff = busy[min(PEAK_HOURS, len(busy)) - 1]["payments"]
    peaks = [h for h in busy if h["payments"] >= cutoff]
    parts, tied = [], False
    for count, group in itertools.groupby(peaks, key=lambda h: int(h["payments"])):
        hours = [f"{h['hour']:02d}:00" for h in group]
        if len(hours) == 1:
            parts.append(f"{hours[0]} ({_count(count, 'payment')})")
        else:
            tied = True
            each = _count(count, "payment")
            parts.append(f"{len(hours)} hours tied at {each} each: {_and(hours)}")
    return [
        {
            "kind": "peak_hours",
            "message": (
                f"Most approved payments happen at {'; '.join(parts)} (ART): staff support "
                "and barbers then."
            ),
            "evidence": {
                "hours": peaks,
                "total_payments": revenue["payments_approved"],
                "tied": tied,
            },
        }
    ]


# -- referrals ---------------------------------------------------------------------------------


def _channels(referrals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The best and worst converting named channels, when their difference is significant."""
    ranked = [r for r in referrals if r["channel"] in CHANNELS and r["units"] >= MIN_GROUP_UNITS]
    if len(ranked) < 2:
        return []
    listed = {channel: i for i, channel in enumerate(CHANNELS)}

    def converts(row: dict[str, Any]) -> Fraction:
        return Fraction(row["units_converted"], row["units"])

    # On equal rates, the channel with more units (stronger evidence), then the one listed first.
    best = max(ranked, key=lambda r: (converts(r), r["units"], -listed[r["channel"]]))
    worst = min(ranked, key=lambda r: (converts(r), -r["units"], listed[r["channel"]]))
    if converts(best) == converts(worst):
        return []
    test = significance.compare(
        best["units_converted"], best["units"], worst["units_converted"], worst["units"]
    )
    if not test.significant:
        return []
    p_value = round(test.p_value, RATE_DECIMALS)
    shown = f"p = {p_value}" if p_value else f"p < {10**-RATE_DECIMALS}"  # rounds to 0
    keys = ("channel", "units", "units_converted", "conversion_rate", "revenue_ars")
    return [
        {
            "kind": "referral_channels",
            "message": (
                f"{best['channel']} converts better than {worst['channel']}: "
                f"{best['units_converted']} of {best['units']} units "
                f"({_percent(best['conversion_rate'])}) against {worst['units_converted']} of "
                f"{worst['units']} ({_percent(worst['conversion_rate'])}), a significant "
                f"difference ({_TESTS[test.test]}, {shown}): shift launch budget from "
                f"{worst['channel']} toward {best['channel']}."
            ),
            "evidence": {
                "best": {k: best[k] for k in keys},
                "worst": {k: worst[k] for k in keys},
                "min_units": MIN_GROUP_UNITS,
                "significance": {"test": test.test, "p_value": p_value, "alpha": test.alpha},
            },
        }
    ]


# -- wording -----------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
