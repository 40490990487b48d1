"""Payments (migration 0004): MercadoPago notifications and their retry queue."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, SmallInteger, String, Table, Text

from barberpro.db.tables.base import metadata

# Every accepted MercadoPago notification, unique by (notification id, request id) so that
# MercadoPago's redeliveries are recognised. The table is the durable work queue: status
# pending -> processing (claimed by a worker until lease_until) -> done, or back to pending
# with a later next_attempt_at, or dead (the dead-letter list) after the last attempt; other
# topics are stored as skipped. request_id is "" when the notification carried none.
mp_notifications = Table(
    "mp_notifications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("notification_id", String(64), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("topic", String(32), nullable=False),
    Column("action", String(64)),
    Column("resource_id", String(64), nullable=False),
    Column("body", Text),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("lease_owner", String(36)),
    Column("lease_until", BigInteger),
    Column("received_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("processed_at", BigInteger),
    Column("last_error", Text),
    Column("last_http_status", SmallInteger),
    Index("ux_mp_notifications_notification_request", "notification_id", "request_id", unique=True),
    Index("ix_mp_notifications_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_mp_notifications_resource_id", "resource_id"),
)
