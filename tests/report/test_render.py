"""Numbers as people in Argentina write them: 1.234.567,89, $ 1.234,50, 98,7 %."""

from __future__ import annotations

import base64
import re

import pytest

from barberpro.report import charts, render


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (1234567.891, 2, "1.234.567,89"),
        (1234567.891, 0, "1.234.568"),
        (999.5, 1, "999,5"),
        (0, 0, "0"),
        (-1234.5, 1, "-1.234,5"),
        (None, 0, "-"),
    ],
)
def test_number_uses_dots_for_thousands_and_a_decimal_comma(
    value: float | None, decimals: int, text: str
) -> None:
    assert render.number(value, decimals) == text


def test_money_percentages_and_durations() -> None:
    assert render.ars(1234567.891) == "$ 1.234.567,89"
    assert render.ars(0.5) == "$ 0,50"
    assert render.ars(None) == "-"
    assert render.percent(0.987) == "98,7 %"
    assert render.percent(1) == "100,0 %"
    assert render.percent(None) == "-"
    assert render.percent_value(42.06) == "42,1 %"
    assert render.millis(1234.56) == "1.234,6 ms"
    assert render.seconds(12.25) == "12,2 s"
    assert render.seconds(245) == "4 min 05 s"


def test_charts_label_their_axes_the_argentine_way() -> None:
    """The revenue chart's axis reads $ 1.000.000, not $1,000,000."""
    spec = charts.revenue([{"hour": 9, "gross_ars": 1_234_567.0}, {"hour": 10, "gross_ars": 10}])
    uri = charts.data_uri(charts.svg(spec))
    assert uri.startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(uri.split(",", 1)[1]).decode()
    assert svg.lstrip().startswith("<svg")
    assert re.search(r">\$ 1\.000\.000<", svg), re.findall(r">(\$[^<]*)<", svg)
    assert "$1,000,000" not in svg
