"""`barberpro export`: rules that promtool accepts, a dashboard over metrics that exist."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from barberpro.alerts.export import duration, prometheus_rules, promql, to_yaml
from barberpro.alerts.grafana import grafana_dashboard
from barberpro.alerts.rules import DEFAULT_RULES, Rule
from barberpro.cli import cli
from tests.conftest import IN_CI

RULES = {r.name: r for r in DEFAULT_RULES}
METRIC = re.compile(r"\bbarberpro_[a-zA-Z0-9_:]+")


def promtool() -> str:
    """Return promtool's path; skip without it, but fail in CI where it must be installed."""
    found = shutil.which("promtool")
    if found is None:
        if IN_CI:
            pytest.fail("promtool is not installed; .ci/run installs Debian's prometheus")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    return found


def run_cli(*args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_api_p95_critical_is_the_histogram_quantile_with_for(tmp_path: Path) -> None:
    """The critical API rule is p95 over 5m above 0.2 s, for 1m, with at least 20 requests."""
    assert promql(RULES["api_p95_critical"]) == (
        "histogram_quantile(0.95, sum by (le) "
        "(rate(barberpro_http_request_duration_seconds_bucket[5m]))) > 0.2 "
        "and on() sum(increase(barberpro_http_request_duration_seconds_count[5m])) >= 20"
    )
    data, skipped = prometheus_rules(DEFAULT_RULES)
    assert skipped == []
    (group,) = data["groups"]
    entry = next(r for r in group["rules"] if r["alert"] == "api_p95_critical")
    assert entry["for"] == "1m"
    assert entry["labels"] == {"severity": "critical", "kind": "api_latency", "target": "all"}
    assert entry["annotations"]["summary"].startswith("API p95 latency above 200 ms")


def test_selectors_become_label_matchers_and_unknown_ones_are_left_out() -> None:
    """A route selector narrows the series; a label the metric lacks drops the rule."""
    route = Rule(
        name="action_slow",
        signal="http_p95_ms",
        op=">",
        threshold=100,
        window_s=60,
        selector={"route": "/api/v1/analytics/action"},
    )
    assert 'bucket{route="/api/v1/analytics/action"}[1m]' in promql(route)
    odd = Rule(name="odd", signal="db_query_p95_ms", op=">", threshold=1, selector={"x": "y"})
    data, skipped = prometheus_rules([route, odd])
    assert [r["alert"] for r in data["groups"][0]["rules"]] == ["action_slow"]
    assert len(skipped) == 1
    assert "'odd'" in skipped[0]


@pytest.mark.parametrize(
    ("seconds", "text"), [(300, "5m"), (60, "1m"), (90, "90s"), (3600, "1h"), (0.5, "500ms")]
)
def test_durations_are_written_as_prometheus_durations(seconds: float, text: str) -> None:
    """Windows and `for` use Prometheus' duration syntax."""
    assert duration(seconds) == text


def test_yaml_quotes_every_string() -> None:
    """Strings are written JSON-quoted, so quotes and braces in PromQL survive."""
    text = to_yaml({"a": [{"expr": 'x{y="1"} > 2', "n": 3}], "empty": {}})
    assert text == 'a:\n  - expr: "x{y=\\"1\\"} > 2"\n    n: 3\nempty: {}'


def test_promtool_accepts_the_exported_rules(tmp_path: Path) -> None:
    """`barberpro export prometheus-rules --output` writes a file `promtool check rules` passes."""
    tool = promtool()
    out = tmp_path / "rules.yml"
    run_cli("export", "prometheus-rules", "--output", str(out))
    checked = subprocess.run(
        [tool, "check", "rules", str(out)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(DEFAULT_RULES)} rules found" in checked.stdout


def test_promtool_fires_the_exported_critical_after_one_minute(tmp_path: Path) -> None:
    """promtool's rule unit test: p95 at 0.25 s fires api_p95_critical only once `for` passed."""
    tool = promtool()
    rules = tmp_path / "rules.yml"
    run_cli("export", "prometheus-rules", "--output", str(rules))
    # 60 requests a minute, all in the 0.25 s bucket: p95 = 0.2475 s > 0.2 s.
    bucket = "barberpro_http_request_duration_seconds_bucket"
    series = [
        {"series": f'{bucket}{{le="{le}"}}', "values": f"0+{n}x20"}
        for le, n in [("0.2", 0), ("0.25", 60), ("+Inf", 60)]
    ]
    series.append({"series": "barberpro_http_request_duration_seconds_count", "values": "0+60x20"})
    test = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": "1m", "alertname": "api_p95_critical", "exp_alerts": []},
                    {
                        "eval_time": "3m",
                        "alertname": "api_p95_critical",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "critical",
                                    "kind": "api_latency",
                                    "target": "all",
                                },
                                "exp_annotations": {
                                    "summary": RULES["api_p95_critical"].summary,
                                    "description": "http_p95_ms > 200 ms; now 247.5ms",
                                },
                            }
                        ],
                    },
                ],
            }
        ],
    }
    spec = tmp_path / "test.yml"
    spec.write_text(to_yaml(test) + "\n", encoding="utf-8")
    ran = subprocess.run([tool, "test", "rules", str(spec)], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_cli_export_applies_the_overrides(tmp_path: Path) -> None:
    """The exported rules are the configured ones: overrides from the environment apply."""
    text = run_cli(
        "export",
        "prometheus-rules",
        env={"BARBERPRO_ALERT_RULES": '{"api_p95_critical": {"threshold": 300, "for_s": 120}}'},
    )
    assert "> 0.3 and on()" in text
    assert 'for: "2m"' in text


def _exposed(text: str) -> set[str]:
    """Return every series name a scrape can show: samples seen, and each family's suffixes."""
    names: set[str] = set()
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("_sum", "_count", "_created"),
        "gauge": ("",),
    }
    for family in text_string_to_metric_families(text):
        names.update(sample.name for sample in family.samples)
        names.update(family.name + s for s in suffixes.get(family.type, ("",)))
    return names


def _exprs(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            found.append((panel["title"], target["expr"]))
    return found


def test_dashboard_is_grafana_json_with_prometheus_targets() -> None:
    """schemaVersion 39, unique panel ids, every panel with at least one Prometheus query."""
    dashboard = json.loads(run_cli("export", "grafana-dashboard"))
    assert dashboard["schemaVersion"] == 39
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    graphs = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len(graphs) >= 12
    for panel in graphs:
        assert panel["datasource"]["type"] == "prometheus"
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert METRIC.search(target["expr"]), (panel["title"], target["expr"])
    latency = next(p for p in graphs if p["title"] == "API p95 latency (all routes)")
    steps = latency["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps] == [None, 150, 200]


async def test_dashboard_queries_name_only_metrics_that_metrics_exposes(
    app_factory: Callable[..., Any],
) -> None:
    """Every metric a panel queries is in a real scrape of /metrics after some traffic."""
    async with app_factory() as client:
        api = "/api/v1"
        start = {
            "session_id": "s-1",
            "device": {"type": "mobile"},
            "location": {"province": "Córdoba"},
        }
        assert (await client.post(f"{api}/analytics/session/start", json=start)).is_success
        revenue = {
            "payment_id": "mp-1",
            "amount": "1000",
            "status": "approved",
            "payment_method": "visa",
            "payment_type": "credit_card",
            "installments": 1,
            "province": "AR-X",
        }
        assert (await client.post(f"{api}/analytics/revenue", json=revenue)).is_success
        report = {
            "provider": "mercadopago",
            "event_type": "payment.updated",
            "status": "failure",
            "processing_ms": 12,
        }
        assert (await client.post(f"{api}/monitoring/webhook/payment", json=report)).is_success
        assert (await client.get(f"{api}/monitoring/dashboard")).status_code == 200
        scrape = await client.get("/metrics")
    assert scrape.status_code == 200, scrape.text
    exposed = _exposed(scrape.text)
    missing = [
        (title, name)
        for title, expr in _exprs(grafana_dashboard(DEFAULT_RULES))
        for name in METRIC.findall(expr)
        if name not in exposed
    ]
    assert missing == []
