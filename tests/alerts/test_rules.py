"""Alert rules: the nine defaults and the TOML / environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from barberpro.alerts.rules import (
    DEFAULT_RULES,
    Rule,
    RuleError,
    alert_labels,
    fingerprint,
    holds,
    load_rules,
)
from barberpro.alerts.signals import Sample
from barberpro.config import Settings


def by_name(rules: tuple[Rule, ...]) -> dict[str, Rule]:
    return {r.name: r for r in rules}


def test_defaults_are_the_nine_published_rules() -> None:
    """Severity, signal, threshold, window, for and minimum samples match the published defaults."""
    got = {
        r.name: (r.severity, r.signal, r.op, r.threshold, r.window_s, r.for_s, r.min_samples)
        for r in DEFAULT_RULES
    }
    assert got == {
        "webhook_failure_rate_critical": (
            "critical", "webhook_failure_rate", ">", 0.02, 300, 0, 20,
        ),
        "memory_critical": ("critical", "memory_percent", ">", 80, 60, 0, 0),
        "api_p95_critical": ("critical", "http_p95_ms", ">", 200, 300, 60, 20),
        "db_connection_failures_critical": (
            "critical", "db_connection_failures", ">", 0, 300, 0, 0,
        ),
        "api_p95_warning": ("warning", "http_p95_ms", ">", 150, 300, 0, 20),
        "db_query_p95_warning": ("warning", "db_query_p95_ms", ">", 50, 300, 0, 20),
        "concurrent_connections_warning": (
            "warning", "concurrent_connections", ">", 500, 60, 0, 0,
        ),
        "webhook_signature_rejected_critical": (
            "critical", "webhook_rejections", ">", 2, 300, 0, 0,
        ),
        "payment_not_found_warning": (
            "warning", "webhook_dead_letters", ">", 0, 900, 0, 0,
        ),
    }  # fmt: skip
    assert by_name(DEFAULT_RULES)["payment_not_found_warning"].selector == {"reason": "not_found"}


def test_both_api_latency_rules_share_kind_and_target() -> None:
    """The critical API p95 rule can inhibit the warning one."""
    rules = by_name(DEFAULT_RULES)
    crit, warn = rules["api_p95_critical"], rules["api_p95_warning"]
    assert (crit.kind, crit.target) == (warn.kind, warn.target) == ("api_latency", "all")


def test_without_overrides_the_defaults_load_unchanged() -> None:
    """Loading with no file and no JSON gives the defaults unchanged."""
    assert load_rules() == DEFAULT_RULES


def test_too_few_samples_never_hold() -> None:
    """Below min_samples the condition does not hold, whatever the value."""
    rule = by_name(DEFAULT_RULES)["webhook_failure_rate_critical"]
    assert not holds(rule, Sample(value=1.0, count=19))
    assert holds(rule, Sample(value=0.03, count=20))
    assert not holds(rule, Sample(value=0.02, count=100))  # strictly above
    assert not holds(rule, Sample(value=None, count=100))


def test_less_than_rules_hold_below_the_threshold() -> None:
    """op '<' holds when the value is below the threshold."""
    rule = Rule(name="low", signal="memory_percent", op="<", threshold=5)
    assert holds(rule, Sample(4.9, 1))
    assert not holds(rule, Sample(5, 1))


def test_fingerprint_is_the_identity_of_the_labels() -> None:
    """Same labels give the same fingerprint, whatever their order; others differ."""
    rule = by_name(DEFAULT_RULES)["memory_critical"]
    labels = alert_labels(rule)
    assert fingerprint(labels) == fingerprint(dict(reversed(list(labels.items()))))
    assert fingerprint(labels) != fingerprint({**labels, "team": "ops"})
    assert len(fingerprint(labels)) == 16


def test_toml_file_overrides_adds_and_disables(tmp_path: Path) -> None:
    """A TOML file changes fields of a default, adds a rule and drops another."""
    path = tmp_path / "rules.toml"
    path.write_text(
        """
[rules.api_p95_critical]
threshold = 250
for_s = 120

[rules.db_query_p95_warning]
enabled = false

[rules.action_route_slow]
signal = "http_p95_ms"
selector = { route = "/api/v1/analytics/action" }
labels = { team = "analytics" }
op = ">"
threshold = 100
severity = "warning"
""",
        encoding="utf-8",
    )
    rules = by_name(load_rules(file=path))
    assert rules["api_p95_critical"].threshold == 250
    assert rules["api_p95_critical"].for_s == 120
    assert rules["api_p95_critical"].window_s == 300  # untouched fields keep the default
    assert "db_query_p95_warning" not in rules
    added = rules["action_route_slow"]
    assert dict(added.selector) == {"route": "/api/v1/analytics/action"}
    assert alert_labels(added)["team"] == "analytics"
    assert added.kind == "action_route_slow"
    assert added.target == "all"


def test_environment_json_wins_over_the_file(tmp_path: Path) -> None:
    """BARBERPRO_ALERT_RULES is applied after the file."""
    path = tmp_path / "rules.toml"
    path.write_text("[rules.memory_critical]\nthreshold = 90\n", encoding="utf-8")
    rules = by_name(load_rules(file=path, env_json='{"memory_critical": {"threshold": 95}}'))
    assert rules["memory_critical"].threshold == 95


@pytest.mark.parametrize(
    ("env_json", "named"),
    [
        ('{"memory_critical": {"threshold": "high"}}', "threshold"),
        ('{"memory_critical": {"op": ">="}}', "op"),
        ('{"memory_critical": {"severity": "page"}}', "severity"),
        ('{"memory_critical": {"signal": "cpu"}}', "signal"),
        ('{"memory_critical": {"treshold": 1}}', "treshold"),
        ('{"memory_critical": {"window_s": 0}}', "window_s"),
        ('{"memory_critical": {"min_samples": -1}}', "min_samples"),
        ('{"memory_critical": {"labels": {"severity": "x"}}}', "labels"),
        ('{"brand_new": {"signal": "memory_percent"}}', "missing fields"),
        ('{"Bad Name": {}}', "rule name"),
        ("[1, 2]", "table of rules"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_overrides_name_the_rule_and_field(env_json: str, named: str) -> None:
    """An invalid override is refused with a message naming what is wrong."""
    with pytest.raises(RuleError, match="BARBERPRO_ALERT_RULES") as info:
        load_rules(env_json=env_json)
    assert named in str(info.value)


def test_bad_toml_file_is_a_configuration_problem(tmp_path: Path) -> None:
    """Settings.problems() reports an unreadable or invalid rules file."""
    path = tmp_path / "rules.toml"
    path.write_text("[rules.memory_critical\n", encoding="utf-8")
    problems = Settings(alert_rules_file=str(path)).problems()
    assert any("BARBERPRO_ALERT_RULES_FILE" in p and "TOML" in p for p in problems)
    missing = Settings(alert_rules_file=str(tmp_path / "nope.toml")).problems()
    assert any("cannot read" in p for p in missing)
