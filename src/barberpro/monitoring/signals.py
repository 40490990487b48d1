"""The alert engine's numbers (a ``SignalSource``), read from the monitor's merged windows."""

from __future__ import annotations

from collections.abc import Mapping

from barberpro.alerts.signals import Sample
from barberpro.monitoring.histogram import LATENCY_EDGES_MS, Stat
from barberpro.monitoring.service import Monitor

_HTTP = frozenset({"http"})
_DB = frozenset({"db"})
_DB_FAIL = frozenset({"db_conn_fail"})
_WEBHOOK = frozenset({"webhook_outcome"})
#: Counted signals whose series are (kind, provider, reason): refused signatures, dead letters.
_COUNTED = {
    "webhook_rejections": frozenset({"webhook_rejected"}),
    "webhook_dead_letters": frozenset({"webhook_dead"}),
}


class MonitorSignals:
    """Implements ``barberpro.alerts.signals.SignalSource`` over every process's windows."""

    def __init__(self, monitor: Monitor) -> None:
        self._monitor = monitor

    async def sample(self, signal: str, *, window_s: float, labels: Mapping[str, str]) -> Sample:
        """Return the value and observation count of ``signal`` over the trailing window.

        Labels narrow a signal: ``route`` and ``method`` for the HTTP ones, ``provider`` and
        ``event_type`` for webhooks, ``operation`` for database queries, ``instance`` for
        connections. A label the signal does not have raises ValueError (a typo in a rule's
        selector must not silently watch nothing).
        """
        monitor = self._monitor
        if signal in ("http_p95_ms", "http_error_rate"):
            _check(signal, labels, ("route", "method", "status_class"))
            merged = await monitor.merged(window_s, _HTTP)
            total = _select(merged.series, labels, ("route", "method", "status_class"))
            if signal == "http_p95_ms":
                return Sample(total.quantile(0.95), total.count)
            return Sample(total.errors / total.count if total.count else None, total.count)
        if signal == "db_query_p95_ms":
            _check(signal, labels, ("fingerprint", "operation"))
            merged = await monitor.merged(window_s, _DB)
            total = _select(merged.series, labels, ("fingerprint", "operation"))
            return Sample(total.quantile(0.95), total.count)
        if signal == "db_connection_failures":
            _check(signal, labels, ())
            merged = await monitor.merged(window_s, _DB_FAIL)
            failures = sum(s.count for s in merged.series.values())
            return Sample(float(failures), failures)
        if signal == "webhook_failure_rate":
            _check(signal, labels, ("provider", "event_type"))
            merged = await monitor.merged(window_s, _WEBHOOK)
            total = _select(merged.series, labels, ("provider", "event_type"))
            return Sample(total.errors / total.count if total.count else None, total.count)
        if signal in _COUNTED:
            _check(signal, labels, ("provider", "reason"))
            merged = await monitor.merged(window_s, _COUNTED[signal])
            return _by_reason(merged.series, labels)
        if signal == "memory_percent":
            _check(signal, labels, ())
            return Sample(await monitor.memory_percent(), 1)
        if signal == "concurrent_connections":
            lives = await monitor.live_all()
            by_instance = monitor.connections_by_instance(lives)
            _check(signal, labels, ("instance",))
            if "instance" in labels:
                return Sample(float(by_instance.get(labels["instance"], 0)), 1)
            return Sample(float(sum(by_instance.values())), 1)
        raise KeyError(signal)


def _check(signal: str, labels: Mapping[str, str], names: tuple[str, ...]) -> None:
    unknown = sorted(set(labels) - set(names))
    if unknown:
        takes = ", ".join(names) or "no labels"
        raise ValueError(f"signal {signal!r} has no label {', '.join(unknown)} (it takes {takes})")


def _select(
    series: Mapping[tuple[str, ...], Stat], labels: Mapping[str, str], names: tuple[str, ...]
) -> Stat:
    """Return the merged Stat of the keys whose labels (after the kind) match ``labels``."""
    wanted = [(names.index(k), v) for k, v in labels.items() if k in names]
    total = Stat(LATENCY_EDGES_MS)
    for key, stat in series.items():
        if all(key[1 + i] == v for i, v in wanted):
            total.merge(stat)
    return total


def _by_reason(series: Mapping[tuple[str, ...], Stat], labels: Mapping[str, str]) -> Sample:
    """Return how many events of (kind, provider, reason) series match ``labels``, with the
    reasons spelt out in ``detail`` (most frequent first)."""
    names = ("provider", "reason")
    by_reason: dict[str, int] = {}
    for key, stat in series.items():
        if all(key[1 + names.index(k)] == v for k, v in labels.items()):
            by_reason[key[2]] = by_reason.get(key[2], 0) + stat.count
    total = sum(by_reason.values())
    ranked = sorted(by_reason.items(), key=lambda item: (-item[1], item[0]))
    detail = ", ".join(f"{reason} {n}" for reason, n in ranked if n)
    return Sample(float(total), total, detail or None)
