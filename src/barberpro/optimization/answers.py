"""The answers of the optimization routes, the optimization section of the monitoring dashboard
and the actions the launch report lists.

Declared on the routes for the OpenAPI document (see :mod:`barberpro.api.answers`). Instants
written as ISO 8601 are UTC with milliseconds; the toggles' and the error groups' instants are
epoch seconds (floats), as the routes answer them. Durations are milliseconds unless a field
says otherwise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from barberpro.api.answers import Answer

Stage = Literal[0, 1, 2]
ActionKind = Literal[
    "route_cache",
    "index",
    "emergency",
    "memory_trim",
    "db_reconnect",
    "pool_size",
    "mp_concurrency",
]
ActionState = Literal["recorded", "measuring", "done", "kept", "rolled_back", "inconclusive"]
#: A value the engine measured: a count, a duration, a name, a plan's lines.
Figure = int | float | str | bool | list[str] | None


# -- status ------------------------------------------------------------------------------------


class EmergencyStatus(Answer):
    """Emergency mode as every instance sees it."""

    stage: Stage = Field(description="0 off; 1 caches every cacheable route; 2 also sheds load.")
    forced: bool = Field(description="A person forced the stage (POST /optimization/emergency).")
    reason: str = Field(description="Why it is at this stage; empty before any change.")
    since: datetime | None = Field(description="When the stage was set; null if never.")
    by: str = Field(description="api, or the instance:pid of the engine that set it.")
    pending_windows: int = Field(
        description="Consecutive windows over the next stage's entry (3 enter it)."
    )


class Pressure(Answer):
    """The largest of the signals over their targets (1.0: a signal at its threshold).

    Empty until this process led a round that measured it (never while the stage is forced).
    """

    pressure: float | None = Field(default=None, description="The largest ratio.")
    signal: Literal["concurrency_saturation", "event_loop_lag", "memory", "p95"] | None = Field(
        default=None, description="The signal setting it."
    )
    p95_ms: float | None = Field(default=None, description="Every route's p95 of the window.")
    saturation: float | None = Field(default=None, description="In flight / concurrency limit.")
    memory_percent: float | None = Field(default=None, description="The fleet's memory use.")
    loop_lag_ms: float | None = Field(default=None, description="The fleet's worst loop lag.")


class ConcurrencyLimit(Answer):
    """This process's adaptive concurrency limit (Gradient2)."""

    limit: float
    in_flight: int
    shed: int = Field(description="Requests answered 503 by emergency mode since start.")


class RouteCacheStatus(Answer):
    """One cacheable route's cache."""

    enabled: bool = Field(description="Its own toggle.")
    since: datetime | None = Field(
        default=None, description="When the toggle was set; null if never."
    )
    by: str | None = Field(
        default=None, description="api, or the engine's instance:pid; absent if never set."
    )
    reason: str | None = Field(default=None, description="Absent if never set.")
    on: bool = Field(description="Serving from the cache now: its toggle, or emergency mode.")


class DatabaseHealing(Answer):
    """Reconnecting after database connection errors (pool disposed, jittered backoff)."""

    state: Literal["ok", "reconnecting"]
    attempts: int = Field(description="Tries of the current reconnection.")
    next_try_at: datetime | None = Field(description="The next reconnection try; null while ok.")
    reconnects: int = Field(description="Reconnections that succeeded since start.")
    last_error: str | None = Field(
        default=None, description="The latest failed try's error; absent until one failed."
    )


class MemoryTrim(Answer):
    """The latest garbage collection and malloc_trim."""

    at: datetime = Field(description="When the trim ran.")
    collected: int = Field(description="Objects the garbage collector freed.")
    malloc_trim: bool = Field(description="glibc gave memory back to the system.")
    blocked_ms: float = Field(description="How long the event loop was blocked.")
    before: float = Field(description="Memory %, before.")
    after: float = Field(description="Memory %, after.")


class MemoryHealing(Answer):
    """Trimming memory over its threshold."""

    threshold: float = Field(description="Memory % over which the process trims.")
    last_trim: MemoryTrim | None = Field(description="Null until a trim.")


class Healing(Answer):
    """This process's auto-healing state."""

    database: DatabaseHealing
    memory: MemoryHealing
    pool_overflow: int | None = Field(description="The pool's overflow now; null on SQLite.")
    mercadopago_concurrency: int | None = Field(
        description="The MercadoPago worker's concurrency; null without a worker."
    )


class OptimizationStatus(Answer):
    """GET /optimization/status, and the optimization section of GET /monitoring/dashboard:
    this process's view of the engine."""

    enabled: bool = Field(description="BARBERPRO_OPTIMIZATION_ENABLED.")
    dry_run: bool = Field(description="Decisions are recorded, nothing is done.")
    leading: bool = Field(description="This process holds the engine's lease.")
    owner: str = Field(description="This process: instance:pid.")
    rounds: int = Field(description="Rounds this process ran.")
    last_round_at: datetime | None = Field(description="Null before the first round.")
    last_error: str | None = Field(description="Why the latest round failed; null if it did not.")
    interval_s: float
    window_s: float = Field(description="The window the engine measures, seconds.")
    settle_s: float = Field(description="How long an action settles before it is judged.")
    emergency: EmergencyStatus
    pressure: Pressure
    limiter: ConcurrencyLimit
    caches: dict[str, RouteCacheStatus] = Field(description="Every cacheable route, by path.")
    cache_ttl_s: float = Field(description="The lifetime a new cached answer gets now.")
    healing: Healing | None = Field(description="Null without a healer.")


# -- actions -----------------------------------------------------------------------------------


class OptimizationAction(Answer):
    """One audited decision of the engine, or of a person through the API."""

    action_id: str
    kind: ActionKind
    target: str = Field(description="A route, table(columns), service, process, database...")
    move: str = Field(description="What was done: enable, disable, create, forced_stage_2...")
    decided_at: datetime
    decided_by: str = Field(description="api, or the engine's instance:pid.")
    reason: str
    trigger: dict[str, Figure] = Field(
        description="The signals behind the decision; their names depend on the kind."
    )
    dry_run: bool = Field(description="Recorded only, nothing done.")
    state: ActionState = Field(
        description="recorded (dry run), measuring (until settle_at), done (nothing to judge), "
        "kept or rolled_back."
    )
    settle_at: datetime | None = Field(description="When it is judged; null if it is not.")
    after: dict[str, float | int | None] | None = Field(
        description="The same signals after settling; null until judged."
    )
    verdict_reason: str | None
    change: float | None = Field(description="Relative change of the p95 (-0.25: 25% faster).")
    cooldown_until: datetime | None = Field(description="Rolled back: not retried before.")
    judged_at: datetime | None


class OptimizationActions(Answer):
    """GET /optimization/actions."""

    actions: list[OptimizationAction] = Field(description="Newest first; limit=N of them.")


# -- index suggestions -------------------------------------------------------------------------


class IndexSuggestion(Answer):
    """An index the planner says helps one of the slowest statements."""

    table: str
    columns: list[str] = Field(description="Equality columns first, then range, then order.")
    fingerprint: str = Field(description="The statement, literals and parameters normalised.")
    p95_ms: float | None = Field(description="The statement's p95 over the last 15 minutes.")
    count: int | None = Field(description="Its runs over the last 15 minutes.")
    existing_indexes: int = Field(description="Indexes the table has now.")
    write_cost: str = Field(description="The index writes per insert it would mean.")
    create: str = Field(description="The statement that creates it.")


class SqliteIndexSuggestion(IndexSuggestion):
    """SQLite: the plan turns a scan of the table into a search with the index."""

    plan_before: list[str] = Field(description="EXPLAIN QUERY PLAN without it.")
    plan_after: list[str] = Field(description="EXPLAIN QUERY PLAN with it.")
    terms_used: int = Field(description="Terms the index serves (+1 when it spares a sort).")


class PostgresIndexSuggestion(IndexSuggestion):
    """PostgreSQL: a hypothetical index (hypopg) halves the generic plan's cost or better."""

    cost_before: float
    cost_after: float
    cost_gain: float = Field(description="1 - cost_after / cost_before.")
    plan_before: list[str] = Field(description="The plan's top node without it.")
    plan_after: list[str] = Field(description="The plan's top node with it.")


class SqliteIndexAdvice(Answer):
    """GET /optimization/index-suggestions on SQLite."""

    dialect: Literal["sqlite"]
    statements: int = Field(description="The slowest statements read (at most 10).")
    suggestions: list[SqliteIndexSuggestion] = Field(
        description="The best per statement and table."
    )


class PostgresIndexAdvice(Answer):
    """GET /optimization/index-suggestions on PostgreSQL."""

    dialect: Literal["postgresql"]
    statements: int = Field(description="The slowest statements read (at most 10).")
    suggestions: list[PostgresIndexSuggestion] = Field(
        description="The best per statement and table."
    )


IndexAdvice = SqliteIndexAdvice | PostgresIndexAdvice


# -- toggles -----------------------------------------------------------------------------------


class RouteCacheToggle(Answer):
    """PUT and DELETE /optimization/cache/{route}: the route's toggle as now set."""

    route: str = Field(description="The cacheable route's path.")
    enabled: bool
    since: datetime = Field(description="When it was set.")
    by: Literal["api"]
    reason: str


class EmergencyToggle(Answer):
    """POST /optimization/emergency: emergency mode as now set."""

    stage: Stage = Field(description="The stage forced on; 0 when released.")
    forced: bool = Field(description="false: released, the engine decides again.")
    reason: str
    since: datetime = Field(description="When it was set.")
    by: Literal["api"]


# -- errors ------------------------------------------------------------------------------------


class ErrorGroup(Answer):
    """Unhandled errors of one route, exception type and in-app frames."""

    route: str = Field(description="The route template, with its /api/v1 prefix.")
    exception: str = Field(description="The exception's type name.")
    frames: list[str] = Field(description="The innermost three frames of barberpro: file:name.")
    count: int
    first_at: datetime = Field(description="The group's first error.")
    last_at: datetime = Field(description="Its latest.")
    latest_message: str = Field(description="The newest one's, at most 200 characters.")
    suggested_action: str


class UnhandledErrors(Answer):
    """GET /optimization/errors: this process's error groups."""

    groups: list[ErrorGroup] = Field(description="Most frequent first.")
