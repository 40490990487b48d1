"""Alerts (migration 0003): silences and the history of alert transitions."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, String, Table, Text

from barberpro.db.tables.base import metadata

# A silence mutes the notifications of the alerts its matchers select, from starts_at until
# ends_at; DELETE expires it (ends_at = now) rather than erasing it, as Alertmanager does.
alert_silences = Table(
    "alert_silences",
    metadata,
    Column("silence_id", String(36), primary_key=True),
    Column("matchers", Text, nullable=False),  # JSON [{"name", "value", "op"}]
    Column("starts_at", BigInteger, nullable=False),
    Column("ends_at", BigInteger, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_alert_silences_ends_at", "ends_at"),
)

# Every change of phase of every alert, with whether it was muted and whether anyone was told.
alert_history = Table(
    "alert_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("fingerprint", String(16), nullable=False),
    Column("alertname", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("before", String(16), nullable=False),
    Column("after", String(16), nullable=False),
    Column("value", Float),
    Column("labels", Text, nullable=False),  # JSON object
    Column("silenced", Boolean, nullable=False),
    Column("inhibited", Boolean, nullable=False),
    Column("notified", Boolean, nullable=False),
    Index("ix_alert_history_at", "at"),
    Index("ix_alert_history_fingerprint_at", "fingerprint", "at"),
)
