"""The launch report's charts: Vega-Lite specifications rendered to SVG on the server.

vl-convert renders them offline (Vega, Vega-Lite and Deno in one wheel), so the HTML and the
PDF carry the same pictures and nothing loads from the network. Numbers use the es-AR format
(1.234.567,89; pesos as $).
"""

from __future__ import annotations

import base64
from typing import Any

import vl_convert

#: d3-format's locale for Argentina: decimal comma, thousands dot, pesos before the amount.
ES_AR_FORMAT = {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["$ ", ""]}

WIDTH = 640
HEIGHT = 220
_FONT = "DejaVu Sans"
_CONFIG = {
    "font": _FONT,
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 11},
    "legend": {"labelFontSize": 11, "titleFontSize": 11},
}


def _spec(title: str, values: list[dict[str, Any]], **parts: Any) -> dict[str, Any]:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": title,
        "width": WIDTH,
        "height": HEIGHT,
        "data": {"values": values},
        "config": _CONFIG,
        **parts,
    }


def traffic(hourly: list[dict[str, Any]], warning_ms: float, critical_ms: float) -> dict[str, Any]:
    """Requests per ART hour as bars, p95 as a line against the two thresholds."""
    rules = [{"ms": warning_ms, "level": "warning"}, {"ms": critical_ms, "level": "critical"}]
    x = {"field": "hour", "type": "ordinal", "title": "Hour (ART)"}
    return _spec(
        "Requests and p95 latency by hour",
        hourly,
        resolve={"scale": {"y": "independent"}},
        layer=[
            {
                "mark": {"type": "bar", "color": "#9ab"},
                "encoding": {
                    "x": x,
                    "y": {
                        "field": "requests",
                        "type": "quantitative",
                        "title": "Requests",
                        "format": ",d",
                    },
                },
            },
            {
                "layer": [
                    {
                        "mark": {"type": "line", "color": "#c33", "point": True},
                        "encoding": {
                            "x": x,
                            "y": {
                                "field": "p95_ms",
                                "type": "quantitative",
                                "title": "p95 ms",
                                "format": ",.0f",
                            },
                        },
                    },
                    {
                        "data": {"values": rules},
                        "mark": {"type": "rule", "strokeDash": [4, 3]},
                        "encoding": {
                            "y": {"field": "ms", "type": "quantitative"},
                            "color": {
                                "field": "level",
                                "type": "nominal",
                                "title": "Threshold",
                                "scale": {"range": ["#e90", "#c00"]},
                            },
                        },
                    },
                ]
            },
        ],
    )


def funnel(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Units reaching each funnel step, with the share of step 1."""
    values = [
        {
            "step": f"{s['step']}. {s['name']}",
            "units": s["units"],
            "share": s["conversion_from_start"] or 0,
        }
        for s in steps
    ]
    return _spec(
        "Booking funnel",
        values,
        mark={"type": "bar", "color": "#3a7"},
        encoding={
            "y": {"field": "step", "type": "ordinal", "title": None, "sort": None},
            "x": {"field": "units", "type": "quantitative", "title": "Units", "format": ",d"},
            "tooltip": [{"field": "share", "format": ".1%"}],
        },
    )


def revenue(hourly: list[dict[str, Any]]) -> dict[str, Any]:
    """Gross revenue (ARS) per ART hour."""
    return _spec(
        "Gross revenue by hour (ARS)",
        hourly,
        mark={"type": "bar", "color": "#47a"},
        encoding={
            "x": {"field": "hour", "type": "ordinal", "title": "Hour (ART)"},
            "y": {
                "field": "gross_ars",
                "type": "quantitative",
                "title": "ARS",
                "axis": {"format": "$,~f"},
            },
        },
    )


def methods(by_method: list[dict[str, Any]]) -> dict[str, Any]:
    """Gross revenue by payment method."""
    return _spec(
        "Revenue by payment method (ARS)",
        by_method,
        mark={"type": "bar", "color": "#a64"},
        encoding={
            "y": {"field": "payment_method", "type": "nominal", "title": None, "sort": "-x"},
            "x": {
                "field": "gross_ars",
                "type": "quantitative",
                "title": "ARS",
                "axis": {"format": "$,~f"},
            },
        },
    )


def provinces(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Demand per active barber by province (the market's pressure)."""
    values = [r for r in rows if r["demand"]][:24]
    return _spec(
        "Demand by province",
        values,
        mark={"type": "bar"},
        encoding={
            "y": {"field": "name", "type": "nominal", "title": None, "sort": "-x"},
            "x": {
                "field": "demand",
                "type": "quantitative",
                "title": "Searches + bookings",
                "format": ",d",
            },
            "color": {
                "field": "underserved",
                "type": "nominal",
                "title": "Underserved",
                "scale": {"domain": [False, True], "range": ["#9ab", "#c33"]},
            },
        },
    )


def specs(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the report's chart specifications by name (only those with data)."""
    ops, business, market = report["operations"], report["business"], report["market"]
    limits = report["thresholds"]
    found: dict[str, dict[str, Any]] = {}
    if ops["http"]["requests"]:
        found["traffic"] = traffic(
            ops["hourly"], limits["p95_warning_ms"], limits["p95_critical_ms"]
        )
    if business["funnel"]["units"]:
        found["funnel"] = funnel(business["funnel"]["steps"])
    if business["revenue"]["payments_approved"]:
        found["revenue"] = revenue(business["revenue"]["hourly_art"])
        found["methods"] = methods(market["payment_methods"])
    if any(p["demand"] for p in market["provinces"]):
        found["provinces"] = provinces(market["provinces"])
    return found


def svg(spec: dict[str, Any]) -> str:
    """Return ``spec`` rendered to SVG text."""
    return str(vl_convert.vegalite_to_svg(spec, format_locale=ES_AR_FORMAT))


def data_uri(svg_text: str) -> str:
    """Return the SVG as a data: URI for an <img> (the same in the browser and in WeasyPrint)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg_text.encode()).decode()
