"""Alert rules as data: the nine defaults, overridable from TOML and the environment.

Override scheme (applied in this order, later wins):

1. the defaults below;
2. the TOML file named by ``BARBERPRO_ALERT_RULES_FILE``;
3. the JSON in ``BARBERPRO_ALERT_RULES``.

Both sources have the same shape: a table of rules by name. For a default rule, the fields
given replace the default's (``threshold = 250`` alone changes only the threshold); a new name
is a new rule and must give at least ``signal``, ``op``, ``threshold`` and ``severity``;
``enabled = false`` drops a rule. In TOML::

    [rules.api_p95_critical]
    threshold = 250          # ms
    for_s = 120

    [rules.db_query_p95_warning]
    enabled = false

    [rules.action_route_slow]
    signal = "http_p95_ms"
    selector = { route = "/api/v1/analytics/action" }
    op = ">"
    threshold = 100
    severity = "warning"

and in the environment ``BARBERPRO_ALERT_RULES='{"api_p95_critical": {"threshold": 250}}'``.
Thresholds are in the signal's unit: milliseconds for ``*_ms``, a fraction 0..1 for rates,
percent for ``memory_percent``, a count otherwise.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import orjson

from barberpro.alerts.signals import SIGNALS, Sample

__all__ = [
    "DEFAULT_RULES",
    "Rule",
    "RuleError",
    "alert_labels",
    "fingerprint",
    "holds",
    "load_rules",
]

Op = Literal[">", "<"]
Severity = Literal["critical", "warning"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class RuleError(ValueError):
    """A rule definition is invalid; the message names the rule, the field and the source."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One alert rule: ``signal op threshold`` over ``window_s``, held for ``for_s`` seconds.

    ``kind`` and ``target`` drive inhibition: a firing critical alert mutes the warnings with
    the same kind and target. ``labels`` are added to the alert's labels; ``selector`` narrows
    the signal (e.g. ``{"route": ...}``) and is passed to the SignalSource as its labels.
    """

    name: str
    signal: str
    op: Op
    threshold: float
    window_s: float = 300.0
    for_s: float = 0.0
    min_samples: int = 0
    severity: Severity = "warning"
    labels: Mapping[str, str] = field(default_factory=dict)
    kind: str = ""
    target: str = "all"
    summary: str = ""
    selector: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Freeze the mappings so a rule cannot change after it is built."""
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))
        object.__setattr__(self, "selector", MappingProxyType(dict(self.selector)))


# The default alert rules (README, "Alerts"). Latency rules need 20 observations: below that a
# p95 is one unlucky request, not a trend. Gauges (memory, connections) need none.
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(
        name="webhook_failure_rate_critical",
        signal="webhook_failure_rate",
        op=">",
        threshold=0.02,
        window_s=300,
        min_samples=20,
        severity="critical",
        kind="webhook_failures",
        target="payments",
        summary="Payment webhook failure rate above 2% over 5 minutes",
    ),
    Rule(
        name="webhook_signature_rejected_critical",
        signal="webhook_rejections",
        op=">",
        threshold=2,
        window_s=300,
        severity="critical",
        kind="webhook_signatures",
        target="payments",
        summary=(
            "Payment webhooks refused for their signature (3 or more in 5 minutes): a wrong "
            "BARBERPRO_MP_WEBHOOK_SECRET loses every payment"
        ),
    ),
    Rule(
        name="payment_not_found_warning",
        signal="webhook_dead_letters",
        op=">",
        threshold=0,
        window_s=900,
        severity="warning",
        kind="payments_not_found",
        target="payments",
        selector={"reason": "not_found"},
        summary=(
            "MercadoPago answered 404 for a notified payment until it was dead-lettered "
            "(a notification from another account or environment?)"
        ),
    ),
    Rule(
        name="memory_critical",
        signal="memory_percent",
        op=">",
        threshold=80,
        window_s=60,
        severity="critical",
        kind="memory",
        target="process",
        summary="Memory use above 80%",
    ),
    Rule(
        name="api_p95_critical",
        signal="http_p95_ms",
        op=">",
        threshold=200,
        window_s=300,
        for_s=60,
        min_samples=20,
        severity="critical",
        kind="api_latency",
        target="all",
        summary="API p95 latency above 200 ms over 5 minutes, for 1 minute",
    ),
    Rule(
        name="db_connection_failures_critical",
        signal="db_connection_failures",
        op=">",
        threshold=0,
        window_s=300,
        severity="critical",
        kind="db_connections",
        target="database",
        summary="Database connection failures in the last 5 minutes",
    ),
    Rule(
        name="api_p95_warning",
        signal="http_p95_ms",
        op=">",
        threshold=150,
        window_s=300,
        min_samples=20,
        severity="warning",
        kind="api_latency",
        target="all",
        summary="API p95 latency above 150 ms over 5 minutes",
    ),
    Rule(
        name="db_query_p95_warning",
        signal="db_query_p95_ms",
        op=">",
        threshold=50,
        window_s=300,
        min_samples=20,
        severity="warning",
        kind="db_latency",
        target="database",
        summary="Database query p95 above 50 ms over 5 minutes",
    ),
    Rule(
        name="concurrent_connections_warning",
        signal="concurrent_connections",
        op=">",
        threshold=500,
        window_s=60,
        severity="warning",
        kind="connections",
        target="websocket",
        summary="More than 500 concurrent WebSocket connections",
    ),
)


def holds(rule: Rule, sample: Sample) -> bool:
    """Return True when ``sample`` meets the rule's condition (too few samples never do)."""
    if sample.value is None or sample.count < rule.min_samples:
        return False
    if rule.op == ">":
        return sample.value > rule.threshold
    return sample.value < rule.threshold


def alert_labels(rule: Rule) -> dict[str, str]:
    """Return the labels of the rule's alert: its own plus alertname, severity, kind, target."""
    return {
        **rule.labels,
        "alertname": rule.name,
        "severity": rule.severity,
        "kind": rule.kind,
        "target": rule.target,
    }


def fingerprint(labels: Mapping[str, str]) -> str:
    """Return the alert's identity: 16 hex digits of a hash of its sorted labels."""
    canonical = orjson.dumps(sorted(labels.items()))
    return hashlib.sha256(canonical).hexdigest()[:16]


# ------------------------------------------------------------------------------------------
# Loading overrides

_FIELDS = {f.name for f in dataclasses.fields(Rule)}
_REQUIRED_NEW = ("signal", "op", "threshold", "severity")


def load_rules(
    *,
    file: str | Path | None = None,
    env_json: str | None = None,
    defaults: Iterable[Rule] = DEFAULT_RULES,
) -> tuple[Rule, ...]:
    """Return the defaults with the overrides of ``file`` (TOML) then ``env_json`` applied.

    Raises RuleError naming the source, the rule and the field at fault.
    """
    specs: dict[str, dict[str, Any]] = {r.name: _as_spec(r) for r in defaults}
    if file is not None:
        source = f"BARBERPRO_ALERT_RULES_FILE ({file})"
        try:
            with open(file, "rb") as handle:
                data = tomllib.load(handle)
        except OSError as exc:
            raise RuleError(f"{source}: cannot read: {exc.strerror or exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise RuleError(f"{source}: not valid TOML: {exc}") from exc
        unknown = set(data) - {"rules"}
        if unknown:
            raise RuleError(f"{source}: unknown top-level keys {sorted(unknown)}; use [rules.NAME]")
        _merge(specs, data.get("rules", {}), source)
    if env_json:
        source = "BARBERPRO_ALERT_RULES"
        try:
            data = orjson.loads(env_json)
        except orjson.JSONDecodeError as exc:
            raise RuleError(f"{source}: not valid JSON: {exc}") from exc
        if isinstance(data, dict) and set(data) == {"rules"}:
            data = data["rules"]  # accept the file's shape too
        _merge(specs, data, source)
    return tuple(_build(name, spec) for name, spec in specs.items() if spec.get("enabled", True))


def _as_spec(rule: Rule) -> dict[str, Any]:
    spec = {f: getattr(rule, f) for f in _FIELDS}
    spec["labels"] = dict(rule.labels)
    spec["selector"] = dict(rule.selector)
    return spec


def _merge(specs: dict[str, dict[str, Any]], overrides: object, source: str) -> None:
    if not isinstance(overrides, dict):
        raise RuleError(f"{source}: expected a table of rules by name")
    for name, given in overrides.items():
        if not isinstance(given, dict):
            raise RuleError(f"{source}: rule {name!r}: expected a table of fields")
        if not isinstance(name, str) or not _NAME.match(name):
            raise RuleError(
                f"{source}: rule name {name!r}: use lower case letters, digits and _ (≤ 64)"
            )
        unknown = set(given) - _FIELDS - {"enabled"}
        if unknown:
            raise RuleError(
                f"{source}: rule {name!r}: unknown fields {sorted(unknown)}; "
                f"known: {sorted(_FIELDS - {'name'})} and enabled"
            )
        if name not in specs:
            missing = [f for f in _REQUIRED_NEW if f not in given]
            if missing and given.get("enabled", True):
                raise RuleError(f"{source}: new rule {name!r}: missing fields {missing}")
            specs[name] = {"name": name, "kind": name, **given}
        else:
            specs[name] = {**specs[name], **given}
        if not specs[name].get("enabled", True):
            continue
        try:
            _build(name, specs[name])
        except RuleError as exc:
            raise RuleError(f"{source}: {exc}") from None


def _build(name: str, spec: Mapping[str, Any]) -> Rule:
    def bad(field_name: str, reason: str) -> RuleError:
        return RuleError(f"rule {name!r}: {field_name}: {reason}")

    if spec.get("signal") not in SIGNALS:
        raise bad("signal", f"must be one of {sorted(SIGNALS)}, not {spec.get('signal')!r}")
    if spec.get("op") not in (">", "<"):
        raise bad("op", f"must be '>' or '<', not {spec.get('op')!r}")
    if spec.get("severity") not in ("critical", "warning"):
        raise bad("severity", f"must be 'critical' or 'warning', not {spec.get('severity')!r}")
    numbers: dict[str, float] = {}
    for key, default in (("threshold", None), ("window_s", 300.0), ("for_s", 0.0)):
        value = spec.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(key, f"must be a number, not {value!r}")
        numbers[key] = float(value)
    if numbers["window_s"] <= 0:
        raise bad("window_s", "must be above 0 seconds")
    if numbers["for_s"] < 0:
        raise bad("for_s", "must be 0 or more seconds")
    min_samples = spec.get("min_samples", 0)
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 0:
        raise bad("min_samples", f"must be a whole number ≥ 0, not {min_samples!r}")
    mappings: dict[str, dict[str, str]] = {}
    for key in ("labels", "selector"):
        value = spec.get(key) or {}
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise bad(key, "must be a table of text values")
        mappings[key] = value
    reserved = {"alertname", "severity", "kind", "target"} & set(mappings["labels"])
    if reserved:
        raise bad("labels", f"{sorted(reserved)} are set from the rule's own fields")
    texts: dict[str, str] = {}
    for key in ("kind", "target", "summary"):
        value = spec.get(key, "")
        if not isinstance(value, str):
            raise bad(key, f"must be text, not {value!r}")
        texts[key] = value
    return Rule(
        name=name,
        signal=spec["signal"],
        op=spec["op"],
        threshold=numbers["threshold"],
        window_s=numbers["window_s"],
        for_s=numbers["for_s"],
        min_samples=min_samples,
        severity=spec["severity"],
        labels=mappings["labels"],
        kind=texts["kind"] or name,
        target=texts["target"] or "all",
        summary=texts["summary"] or f"{spec['signal']} {spec['op']} {numbers['threshold']:g}",
        selector=mappings["selector"],
    )
