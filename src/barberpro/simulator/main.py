"""``barberpro simulate``: plan, send, write the ground truth, and check the service against it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from barberpro.simulator.plan import Plan, live_plan
from barberpro.simulator.run import Outcome, body_of, run
from barberpro.simulator.truth import Truth
from barberpro.simulator.verify import Difference, compare, flatten

#: The sections each report is checked on.
SCOPES = {
    "dashboard": {"funnel", "engagement", "referrals", "revenue", "market"},
    "business-intelligence": {
        "funnel",
        "engagement",
        "referrals",
        "revenue",
        "providers",
        "market",
    },
}
HEADLINES = (
    "engagement.sessions",
    "funnel.units",
    "funnel.steps.5.units",
    "revenue.gross_ars",
    "revenue.refunds_ars",
    "revenue.chargebacks_ars",
    "revenue.net_ars",
    "revenue.commission_ars",
    "market.sessions_without_province",
)


@dataclass(frozen=True, slots=True)
class Options:
    """What ``barberpro simulate`` was asked for."""

    url: str
    duration: float
    rate: float
    seed: int
    token: str | None = None
    mp_sandbox: str | None = None
    truth: Path | None = None
    verify: bool = False
    sockets: int = 8
    verify_only: bool = False  # verify the --truth file of an earlier run; send nothing


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def truth_document(options: Options, plan: Plan, outcome: Outcome) -> dict[str, Any]:
    """What was sent and what every figure must be, as written to ``--truth``."""
    figures = Truth(outcome.events, plan.stream.channels, outcome.start, outcome.end).figures()
    return {
        "seed": options.seed,
        "duration_s": options.duration,
        "rate": options.rate,
        "mercadopago": options.mp_sandbox is not None,
        "range": {"from": iso(outcome.start), "to": iso(outcome.end)},
        "figures": dict(sorted(figures.items())),
        "sent": [
            {"type": e.kind, "body": body_of(e, i)}
            for i, e in zip(plan.sent(), outcome.events, strict=True)
        ],
    }


async def served(options: Options, start: str, end: str) -> dict[str, dict[str, Any]]:
    """The service's two reports for the simulated range, flattened."""
    headers = {"Authorization": f"Bearer {options.token}"} if options.token else {}
    found = {}
    async with httpx.AsyncClient(base_url=options.url, headers=headers, timeout=60.0) as client:
        for report in SCOPES:
            params = {"from": start, "to": end}
            if report == "business-intelligence":
                params["providers"] = "1000"
            answer = await client.get(f"/api/v1/analytics/{report}", params=params)
            answer.raise_for_status()
            found[report] = flatten(answer.json())
    return found


async def simulate(options: Options, console: Console) -> int:
    """Run the simulation; return the exit code (non-zero when a send or a figure failed)."""
    if options.verify_only:
        if options.truth is None:
            raise ValueError("--verify-only reads the --truth file of an earlier run")
        return await check(options, json.loads(options.truth.read_text()), console)
    plan = live_plan(
        options.seed,
        duration=options.duration,
        rate=options.rate,
        mercadopago=options.mp_sandbox is not None,
    )
    console.print(
        f"sending {len(plan.sends)} events ({len(plan.sent())} distinct) over "
        f"{options.duration:g} s at {options.rate:g}/s to {options.url}"
        + (f", payments through {options.mp_sandbox}" if options.mp_sandbox else "")
    )
    with Progress(
        TextColumn("[bold]launch"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("events", total=len(plan.sends))
        outcome = await run(
            plan,
            options.url,
            token=options.token,
            mp_sandbox=options.mp_sandbox,
            sockets=options.sockets,
            progress=lambda done, _total: bar.update(task, completed=done),
        )
    console.print(
        f"sent {outcome.sends} in {outcome.elapsed:.1f} s: {outcome.rate:.1f} events/s "
        f"(asked {options.rate:g}); answers {dict(sorted(outcome.statuses.items()))}"
        + (f"; MercadoPago {outcome.payments}" if outcome.payments else "")
        + (f"; Socket.IO {outcome.sockets}" if outcome.sockets else "")
    )
    for failure in outcome.failures[:20]:
        console.print(f"[red]✗[/red] {failure}")
    document = truth_document(options, plan, outcome)
    if options.truth is not None:
        options.truth.write_text(json.dumps(document, ensure_ascii=False, indent=1))
        console.print(f"ground truth: {options.truth}")
    if outcome.failures:
        return 1
    if not options.verify:
        return 0
    return await check(options, document, console)


async def check(options: Options, document: dict[str, Any], console: Console) -> int:
    """Compare the service's reports with a truth document; 1 when a figure differs."""
    reports = await served(options, document["range"]["from"], document["range"]["to"])
    differences = {
        report: compare(document["figures"], figures, scope=SCOPES[report])
        for report, figures in reports.items()
    }
    _print(console, document["figures"], reports, differences)
    return 1 if any(differences.values()) else 0


def _print(
    console: Console,
    truth: dict[str, Any],
    reports: dict[str, dict[str, Any]],
    differences: dict[str, list[Difference]],
) -> None:
    table = Table("report", "figure", "expected", "served", title="figures")
    wrong = {(r, d.figure) for r, ds in differences.items() for d in ds}
    for report, figures in reports.items():
        for figure in HEADLINES:
            if figure not in figures:
                continue
            mark = "[red]" if (report, figure) in wrong else ""
            table.add_row(report, figure, str(truth.get(figure)), f"{mark}{figures.get(figure)}")
        for d in differences[report]:
            if d.figure not in HEADLINES:
                table.add_row(report, d.figure, str(d.expected), f"[red]{d.served}")
    console.print(table)
    checked = sum(1 for report in reports for f in truth if f.split(".", 1)[0] in SCOPES[report])
    count = sum(len(ds) for ds in differences.values())
    if count:
        names = sorted({d.figure for ds in differences.values() for d in ds})
        console.print(f"[red]✗ {count} figures differ[/red]: {', '.join(names[:50])}")
    else:
        console.print(f"[green]✓[/green] all {checked} figures match")
