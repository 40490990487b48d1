"""Compare what the service serves with the ground truth, figure by figure.

`flatten` reads ``GET /analytics/dashboard`` and ``GET /analytics/business-intelligence`` into
the truth's flat names; `compare` lists each figure that differs (money to the centavo, rates
to 4 decimals, durations to the millisecond, counts exactly). A figure the truth does not name
must be zero or absent in the service's answer: an extra province or barber with figures is a
difference too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_STEP_FIELDS = (
    "units",
    "conversion_from_previous",
    "conversion_from_start",
    "drop_off",
    "drop_off_rate",
    "median_seconds_from_previous",
)
_REVENUE = (
    "gross_ars",
    "commission_ars",
    "refunds_ars",
    "chargebacks_ars",
    "net_ars",
    "payments_approved",
)
_PROVIDER = (
    "bookings_completed",
    "cancellations",
    "no_shows",
    "ratings",
    "rating_avg",
    "gross_ars",
    "commission_ars",
    "net_ars",
)
_PROVINCE = ("sessions", "searches", "bookings", "demand", "active_providers")
_REFERRAL = ("sessions", "units", "units_converted", "conversion_rate", "revenue_ars")


@dataclass(frozen=True, slots=True)
class Difference:
    """One figure: its name, what it must be and what the service served."""

    figure: str
    expected: Any
    served: Any


def _steps(prefix: str, steps: list[dict[str, Any]], out: dict[str, Any]) -> None:
    for step in steps:
        for name in _STEP_FIELDS:
            if step["step"] == 1 and name in ("conversion_from_previous", "drop_off_rate"):
                continue
            if step["step"] == 1 and name == "median_seconds_from_previous":
                continue
            out[f"{prefix}.steps.{step['step']}.{name}"] = step[name]


def flatten(report: dict[str, Any]) -> dict[str, Any]:
    """A served report (dashboard or business intelligence) as flat figures."""
    out: dict[str, Any] = {}
    funnel = report["funnel"]
    out["funnel.units"] = funnel["units"]
    _steps("funnel", funnel["steps"], out)
    for what, groups in funnel.get("breakdowns", {}).items():
        for group in groups:
            prefix = f"funnel.breakdowns.{what}.{group['value']}"
            out[f"{prefix}.units"] = group["units"]
            _steps(prefix, group["steps"], out)
    engagement = report["engagement"]
    for name in ("sessions", "actions", "actions_per_session", "avg_session_seconds"):
        out[f"engagement.{name}"] = engagement[name]
    for device in engagement["devices"]:
        out[f"engagement.devices.{device['device_type']}.sessions"] = device["sessions"]
        out[f"engagement.devices.{device['device_type']}.share"] = device["share"]
    for action in engagement["top_actions"]:
        out[f"engagement.top_actions.{action['action']}"] = action["count"]
    for row in report["referrals"]:
        for name in _REFERRAL:
            out[f"referrals.{row['channel']}.{name}"] = row[name]
    revenue = report["revenue"]
    for name in _REVENUE:
        out[f"revenue.{name}"] = revenue[name]
    for hour in revenue["hourly_art"]:
        out[f"revenue.hourly_art.{hour['hour']}.payments"] = hour["payments"]
        out[f"revenue.hourly_art.{hour['hour']}.gross_ars"] = hour["gross_ars"]
    for method in revenue["by_method"]:
        prefix = f"revenue.by_method.{method['payment_method']}/{method['payment_type']}"
        for name in ("payments", "gross_ars", "share"):
            out[f"{prefix}.{name}"] = method[name]
    for plan in revenue["installments"]:
        for name in ("approved", "rejected", "approval_rate"):
            out[f"revenue.installments.{plan['installments']}.{name}"] = plan[name]
    for row in report.get("providers", []):
        for name in _PROVIDER:
            out[f"providers.{row['provider_id']}.{name}"] = row[name]
    market = report.get("market")
    provinces = market["provinces"] if market else report.get("regions", [])
    if market:
        out["market.sessions_without_province"] = market["sessions_without_province"]
    for row in provinces:
        for name in _PROVINCE:
            out[f"market.provinces.{row['province']}.{name}"] = row[name]
    return out


def _tolerance(figure: str) -> float:
    if figure.endswith("_ars") or figure.endswith("rating_avg"):
        return 0.005
    if figure.endswith("seconds") or figure.endswith("seconds_from_previous"):
        return 0.0005
    return 0.00005


def _same(figure: str, expected: Any, served: Any) -> bool:
    if expected is None or served is None:
        return bool(expected is None and served is None)
    if isinstance(expected, bool) or isinstance(served, bool):
        return bool(expected == served)
    return abs(float(expected) - float(served)) < _tolerance(figure)


def compare(truth: dict[str, Any], served: dict[str, Any], *, scope: set[str]) -> list[Difference]:
    """The figures of the sections in ``scope`` that differ between the truth and the service.

    A family of figures the report does not serve at all (the dashboard's funnel has no
    breakdowns, its regions no count of sessions without a province) is not compared.
    """
    families = {_family(f) for f in served}
    found = []
    for figure in sorted(set(truth) | set(served)):
        if figure.split(".", 1)[0] not in scope or _family(figure) not in families:
            continue
        expected, got = truth.get(figure), served.get(figure)
        if figure not in served and not expected:
            continue  # a zero the service leaves out (an empty group, a step without units)
        if figure not in truth and not got:
            continue
        if not _same(figure, expected, got):
            found.append(Difference(figure, expected, got))
    return found


def _family(figure: str) -> str:
    """``funnel.breakdowns`` for the breakdowns, else the section and its first name."""
    return ".".join(figure.split(".")[:2])
