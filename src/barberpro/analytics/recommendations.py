"""Day-7 recommendations: each one states the figures it rests on, or is not made."""

from __future__ import annotations

from typing import Any

from barberpro.argentina import CHANNELS

MIN_INSTALLMENT_ATTEMPTS = 10
LOW_APPROVAL = 0.80
MIN_CHANNEL_UNITS = 10
PEAK_HOURS = 3


def recommend(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Return recommendations drawn from a BI report's sections."""
    found: list[dict[str, Any]] = []
    found.extend(_funnel_leak(report["funnel"]))
    found.extend(_underserved(report["market"]))
    found.extend(_installments(report["revenue"]))
    found.extend(_channels(report["referrals"]))
    found.extend(_peak_hours(report["revenue"]))
    return found


def _funnel_leak(funnel: dict[str, Any]) -> list[dict[str, Any]]:
    steps = funnel["steps"]
    if not steps or steps[0]["units"] == 0:
        return []
    worst = max(steps[1:], key=lambda s: (s["drop_off"], -s["step"]))
    if worst["drop_off"] == 0:
        return []
    before = steps[worst["step"] - 2]
    return [
        {
            "kind": "funnel_leak",
            "message": (
                f"The funnel loses most clients between {before['name']} and {worst['name']}: "
                f"{worst['drop_off']} of {before['units']} ({worst['drop_off_rate']:.0%}); "
                "look at that step first."
            ),
            "evidence": {
                "from_step": before["name"],
                "to_step": worst["name"],
                "units_before": before["units"],
                "units_after": worst["units"],
                "drop_off": worst["drop_off"],
                "drop_off_rate": worst["drop_off_rate"],
            },
        }
    ]


def _underserved(market: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for row in market["provinces"]:
        if not row["underserved"]:
            continue
        ratio = row["demand_per_provider"]
        per = "with no active barber" if ratio is None else f"{ratio:.1f} per active barber"
        found.append(
            {
                "kind": "underserved_province",
                "message": (
                    f"{row['name']} has {row['demand']} searches and bookings, {per}: "
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
                | {"min_demand": market["min_demand"]},
            }
        )
    return found


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


def _channels(referrals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ranked = [r for r in referrals if r["channel"] in CHANNELS and r["units"] >= MIN_CHANNEL_UNITS]
    if len(ranked) < 2:
        return []
    ranked.sort(key=lambda r: (r["conversion_rate"], r["units"]))
    worst, best = ranked[0], ranked[-1]
    if best["conversion_rate"] == worst["conversion_rate"]:
        return []
    keys = ("channel", "units", "units_converted", "conversion_rate", "revenue_ars")
    return [
        {
            "kind": "referral_channels",
            "message": (
                f"{best['channel']} converts best ({best['conversion_rate']:.0%} of "
                f"{best['units']}), {worst['channel']} worst ({worst['conversion_rate']:.0%} of "
                f"{worst['units']}): put the launch budget behind {best['channel']}."
            ),
            "evidence": {
                "best": {k: best[k] for k in keys},
                "worst": {k: worst[k] for k in keys},
                "min_units": MIN_CHANNEL_UNITS,
            },
        }
    ]


def _peak_hours(revenue: dict[str, Any]) -> list[dict[str, Any]]:
    hours = [h for h in revenue["hourly_art"] if h["payments"]]
    if not hours:
        return []
    peaks = sorted(hours, key=lambda h: (-h["payments"], h["hour"]))[:PEAK_HOURS]
    names = ", ".join(f"{h['hour']:02d}:00" for h in sorted(peaks, key=lambda h: h["hour"]))
    return [
        {
            "kind": "peak_hours",
            "message": f"Most payments happen at {names} (ART): staff support and barbers then.",
            "evidence": {"hours": peaks, "total_payments": revenue["payments_approved"]},
        }
    ]
