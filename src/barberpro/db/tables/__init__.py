"""The schema as SQLAlchemy Core tables; migrations under ``migrations/`` create it.

Times are integer microseconds since the Unix epoch, UTC: the same arithmetic works on SQLite
and PostgreSQL, bucketing by hour or day is integer division, and nothing depends on a
driver's time-zone handling. Money is integer centavos beside its ISO 4217 currency.

One module per domain, every table importable from here (``tables.events``):

- :mod:`~barberpro.db.tables.events`: the events, their sessions, each payment's state;
- :mod:`~barberpro.db.tables.rollups`: the analytics rollups;
- :mod:`~barberpro.db.tables.alerts`: alert silences and history;
- :mod:`~barberpro.db.tables.mercadopago`: MercadoPago notifications, the payments' work queue;
- :mod:`~barberpro.db.tables.operations`: each process's monitoring series by hour;
- :mod:`~barberpro.db.tables.optimization`: the optimization engine's audited actions.
"""

from __future__ import annotations

from barberpro.db.tables.alerts import alert_history, alert_silences
from barberpro.db.tables.base import ID, ONLY_ON, metadata, sqlite_only
from barberpro.db.tables.events import events, payments, sessions
from barberpro.db.tables.mercadopago import mp_notifications
from barberpro.db.tables.operations import ops_hours
from barberpro.db.tables.optimization import optimization_actions
from barberpro.db.tables.rollups import (
    action_hourly,
    activity_hourly,
    client_cohorts,
    client_days,
    client_weeks,
    cohort_weeks,
    funnel_days,
    funnel_events,
    funnel_starts,
    payment_hours,
    provider_days,
    provider_hourly,
    session_days,
    units,
)

__all__ = [
    "ID",
    "ONLY_ON",
    "action_hourly",
    "activity_hourly",
    "alert_history",
    "alert_silences",
    "client_cohorts",
    "client_days",
    "client_weeks",
    "cohort_weeks",
    "events",
    "funnel_days",
    "funnel_events",
    "funnel_starts",
    "metadata",
    "mp_notifications",
    "ops_hours",
    "optimization_actions",
    "payment_hours",
    "payments",
    "provider_days",
    "provider_hourly",
    "session_days",
    "sessions",
    "sqlite_only",
    "units",
]
