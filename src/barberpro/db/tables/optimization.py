"""Optimization (migration 0019): every action of the live engine, with its measured outcome.

A row is written when the engine decides (what triggered it: the signal values; what it did;
whether it only recorded it, in dry run) and completed once the same signals were measured
again over an equal window after a settling period: the verdict (kept, or rolled back saying by
how much things got worse) and, for a rolled-back action, until when it is not retried.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, String, Table, Text

from barberpro.db.tables.base import metadata

optimization_actions = Table(
    "optimization_actions",
    metadata,
    Column("action_id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),  # route_cache, emergency, index, memory_trim...
    Column("target", String(256), nullable=False),  # the route, the table, "service"
    Column("move", String(32), nullable=False),  # enable, disable, create, drop, stage_2...
    Column("decided_at", BigInteger, nullable=False),  # epoch microseconds
    Column("decided_by", String(160), nullable=False),  # engine (its process) or "api"
    Column("reason", Text, nullable=False),
    Column("trigger", Text, nullable=False),  # JSON: the signal values that triggered it
    Column("dry_run", Boolean, nullable=False),
    Column("state", String(16), nullable=False),  # measuring, kept, rolled_back, recorded, done
    Column("settle_at", BigInteger),  # when the after-measurement is taken
    Column("after", Text),  # JSON: the same signals after
    Column("verdict_reason", Text),
    Column("change", Float),  # relative change of the judged signal (-0.4: 40% lower)
    Column("cooldown_until", BigInteger),  # not retried before (rolled back)
    Column("judged_at", BigInteger),
    Index("ix_optimization_actions_decided_at", "decided_at"),
    Index("ix_optimization_actions_kind_target", "kind", "target"),
    # The engine's two questions each round: what is due to be judged, what is cooling down.
    Index("ix_optimization_actions_state_settle_at", "state", "settle_at"),
    Index("ix_optimization_actions_state_cooldown_until", "state", "cooldown_until"),
)
