"""The launch report as HTML (Jinja2, autoescaped, print CSS) and PDF (WeasyPrint).

Numbers are written the Argentine way (1.234.567,89), money in pesos ($ 1.234,50). The charts
are SVG rendered on the server (:mod:`barberpro.report.charts`), so the HTML needs no script
and the PDF has the same pictures.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jinja2

from barberpro.report import charts

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("barberpro.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def number(value: float | None, decimals: int = 0) -> str:
    """Return ``value`` in the es-AR format: dots between thousands, a decimal comma."""
    if value is None:
        return "-"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def ars(value: float | None) -> str:
    """Return pesos as people in Argentina write them: $ 1.234.567,89."""
    return "-" if value is None else f"$ {number(value, 2)}"


def percent(share: float | None) -> str:
    """Return a share (0..1) as a percentage with one decimal: 98,7 %."""
    return "-" if share is None else f"{number(share * 100, 1)} %"


def percent_value(value: float | None) -> str:
    """Return a value already in percent: 42,1 %."""
    return "-" if value is None else f"{number(value, 1)} %"


def millis(value: float | None) -> str:
    """Return milliseconds: 12,3 ms."""
    return "-" if value is None else f"{number(value, 1)} ms"


def seconds(value: float | None) -> str:
    """Return a duration in seconds as minutes and seconds when long: 4 min 05 s."""
    if value is None:
        return "-"
    if value < 60:
        return f"{number(value, 1)} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest:02d} s"


def _evidence(evidence: dict[str, Any]) -> str:
    """The figures behind a recommendation, one line per figure (nested ones as compact JSON)."""
    lines = []
    for key, value in evidence.items():
        shown = (
            value
            if isinstance(value, str)
            else json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
        )
        lines.append(f"{key}: {shown}")
    return "\n".join(lines)


@cache
def _template() -> jinja2.Template:
    return _env.get_template("launch_report.html.j2")


def chart_images(report: dict[str, Any]) -> dict[str, str]:
    """Return each chart of the report as an SVG data URI, by name."""
    return {name: charts.data_uri(charts.svg(spec)) for name, spec in charts.specs(report).items()}


def html(report: dict[str, Any]) -> str:
    """Return the report as a standalone HTML page (no script, nothing fetched)."""
    return _template().render(
        r=report,
        charts=chart_images(report),
        num=number,
        ars=ars,
        pct=percent,
        pct_value=percent_value,
        ms=millis,
        seconds=seconds,
        evidence=_evidence,
    )


def pdf(report: dict[str, Any]) -> bytes:
    """Return the report as PDF: the HTML laid out by WeasyPrint with its print CSS."""
    import weasyprint  # loads pango: only when a PDF is asked for

    document = weasyprint.HTML(string=html(report), base_url=None)
    return bytes(document.write_pdf())
