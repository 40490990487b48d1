"""The ``barberpro`` command: serve, migrate, doctor, report, mp-sandbox, simulate, demo."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from barberpro.config import Settings

cli = typer.Typer(help="BarberPro launch-day backend.", no_args_is_help=True, add_completion=False)
console = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for err in exc.errors():
            name = "BARBERPRO_" + "_".join(str(p) for p in err["loc"]).upper()
            console.print(f"[red]✗[/red] {name}: {err['msg']}")
        raise typer.Exit(2) from exc


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Apply migrations, then serve the API with uvicorn."""
    import uvicorn

    from barberpro import logs

    settings = _settings()
    logs.configure(level=settings.log_level, json=settings.log_json)
    problems = settings.problems()
    if problems:
        for problem in problems:
            console.print(f"[red]✗[/red] {problem}")
        raise typer.Exit(2)
    if settings.migrate_on_start:
        # Once here, before the workers fork, so they never race to create the schema.
        asyncio.run(_migrate(settings))
        os.environ["BARBERPRO_MIGRATE_ON_START"] = "false"
    metrics_dir = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # prometheus_client's multiprocess mode: the workers keep their metrics (and the
        # monitoring windows) in files here and every scrape merges them. Fresh for each run,
        # so no earlier run's counts leak in; set before the workers start and import it.
        metrics_dir = tempfile.mkdtemp(prefix="barberpro-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    state_dir = None
    if workers > 1 and settings.state_url.startswith("memory://"):
        # One process's memory is no shared state: the workers share alert leadership and
        # states and the monitoring windows through a directory of their own for this run.
        state_dir = tempfile.mkdtemp(prefix="barberpro-state-")
        os.environ["BARBERPRO_SHARED_STATE_URL"] = Path(state_dir).as_uri()
    try:
        uvicorn.run(
            "barberpro.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level,
            access_log=False,
            lifespan="on",
        )
    finally:
        for scratch in (metrics_dir, state_dir):
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)


async def _migrate(settings: Settings) -> None:
    from barberpro.db import migrate
    from barberpro.db.engine import create_engine

    engine = create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


@cli.command("migrate")
def migrate_command() -> None:
    """Bring the database schema to the newest revision."""
    settings = _settings()
    asyncio.run(_migrate(settings))
    console.print(f"[green]✓[/green] schema is up to date on {_safe_url(settings.database_url)}")


@cli.command()
def doctor() -> None:
    """Check the configuration, the database and Redis; say in plain words what is wrong."""
    settings = _settings()
    ok = asyncio.run(_doctor(settings))
    raise typer.Exit(0 if ok else 1)


async def _doctor(settings: Settings) -> bool:
    from barberpro.db import migrate
    from barberpro.db.engine import create_engine
    from barberpro.kv import SharedState

    healthy = True

    def say(good: bool, message: str) -> None:
        nonlocal healthy
        healthy = healthy and good
        console.print(f"[green]✓[/green] {message}" if good else f"[red]✗[/red] {message}")

    problems = settings.problems()
    say(not problems, "configuration: " + ("; ".join(problems) or f"fine ({settings.env})"))
    if settings.open_access:
        console.print("[yellow]![/yellow] no tokens set: every route is open (development only)")
    engine = create_engine(settings.database_url)
    url = _safe_url(settings.database_url)
    try:
        current, head = await migrate.revision(engine)
        say(True, f"database: reachable at {url}")
        if current == head:
            say(True, f"schema: at the newest revision ({head})")
        else:
            say(
                False,
                f"schema: at {current or 'nothing'}, code needs {head}: run `barberpro migrate`",
            )
    except Exception as exc:
        say(False, f"database: cannot reach {url}: {exc.__class__.__name__}: {exc}")
    finally:
        await engine.dispose()
    await _doctor_mercadopago(settings, say)
    state = SharedState(settings.state_url)
    if not state.shared:
        console.print(
            "[yellow]![/yellow] shared state: in this process (set BARBERPRO_SHARED_STATE_URL "
            "or BARBERPRO_REDIS_URL to share it between instances)"
        )
    else:
        try:
            answered = await state.store.ping()
        finally:
            await state.close()
        say(
            answered,
            f"{state.backend.value}: {'answers' if answered else 'does not answer'} at "
            f"{_safe_url(settings.state_url)}",
        )
    return healthy


async def _doctor_mercadopago(settings: Settings, say: Callable[[bool, str], None]) -> None:
    """Say whether the MercadoPago worker can fetch payments and webhooks can be verified."""
    import httpx

    if settings.mp_worker_enabled:
        say(
            settings.mp_access_token is not None,
            "mercadopago: access token "
            + (
                "set"
                if settings.mp_access_token
                else "NOT set while the worker runs: every "
                "payment fetch fails (set BARBERPRO_MP_ACCESS_TOKEN, or "
                "BARBERPRO_MP_WORKER_ENABLED=false)"
            ),
        )
        try:
            async with httpx.AsyncClient(timeout=3.0) as client:
                answer = await client.get(settings.mp_api_url)
            say(
                True,
                f"mercadopago: API answers at {settings.mp_api_url} (HTTP {answer.status_code})",
            )
        except httpx.HTTPError as exc:
            say(
                False,
                f"mercadopago: API unreachable at {settings.mp_api_url}: "
                f"{exc.__class__.__name__}: {exc}; point BARBERPRO_MP_API_URL at a reachable "
                "API (`barberpro mp-sandbox` locally)",
            )
    if settings.mp_webhook_secret is None:
        console.print(
            "[yellow]![/yellow] mercadopago: BARBERPRO_MP_WEBHOOK_SECRET is not set: webhooks "
            "are accepted unsigned (development only)"
        )
    else:
        say(True, "mercadopago: webhook secret set")


@cli.command()
def simulate(
    url: Annotated[str, typer.Option(help="The running service.")] = "http://127.0.0.1:8000",
    duration: Annotated[float, typer.Option(min=0.1, help="Seconds of traffic.")] = 120.0,
    rate: Annotated[float, typer.Option(min=0.1, help="Events per second.")] = 50.0,
    seed: Annotated[int, typer.Option(help="The same seed sends the same events.")] = 1,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="BARBERPRO_ADMIN_TOKEN", help="Admin token (events, reports, Socket.IO)."
        ),
    ] = None,
    mp_sandbox: Annotated[
        str | None,
        typer.Option(help="MercadoPago stand-in URL: payments go through it as signed webhooks."),
    ] = None,
    truth: Annotated[
        Path | None, typer.Option(help="Write what was sent and every figure it must give.")
    ] = None,
    verify: Annotated[
        bool, typer.Option(help="Read the reports and exit 1 naming each figure that differs.")
    ] = False,
    sockets: Annotated[int, typer.Option(min=0, help="Socket.IO clients.")] = 8,
    verify_only: Annotated[
        bool, typer.Option(help="Send nothing: verify the service against the --truth file.")
    ] = False,
) -> None:
    """Send a simulated Argentine launch to a running service (HTTP only), with ground truth."""
    from barberpro.simulator.main import Options
    from barberpro.simulator.main import simulate as simulation

    options = Options(
        url=url.rstrip("/"),
        duration=duration,
        rate=rate,
        seed=seed,
        token=token,
        mp_sandbox=mp_sandbox,
        truth=truth,
        verify=verify,
        sockets=sockets,
        verify_only=verify_only,
    )
    if verify_only and truth is None:
        console.print("[red]✗[/red] --verify-only needs the --truth file of an earlier run")
        raise typer.Exit(2)
    raise typer.Exit(asyncio.run(simulation(options, Console(soft_wrap=True))))


@cli.command()
def demo(
    minutes: Annotated[
        float, typer.Option(envvar="DEMO_MINUTES", min=0.05, help="Minutes of launch.")
    ] = 2.0,
    rate: Annotated[float, typer.Option(min=0.1, help="Events per second.")] = 20.0,
    port: Annotated[int, typer.Option(help="The service's port (another if taken).")] = 8000,
    seed: Annotated[int, typer.Option(help="The launch's seed.")] = 1,
    keep_serving: Annotated[
        bool, typer.Option(help="Keep serving after the launch, until Ctrl-C.")
    ] = True,
) -> None:
    """Serve on a scratch database with the MercadoPago stand-in and a simulated launch."""
    from barberpro.simulator.demo import demo as run_demo

    code = run_demo(
        Console(soft_wrap=True),
        minutes=minutes,
        rate=rate,
        port=port,
        seed=seed,
        keep_serving=keep_serving,
    )
    raise typer.Exit(code)


@cli.command("mp-sandbox")
def mp_sandbox(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8090,
    access_token: Annotated[
        str | None,
        typer.Option(envvar="BARBERPRO_MP_ACCESS_TOKEN", help="Bearer token to require."),
    ] = None,
    webhook_secret: Annotated[
        str | None,
        typer.Option(envvar="BARBERPRO_MP_WEBHOOK_SECRET", help="Secret to sign webhooks with."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of invented payments and faults.")] = 0,
    latency_ms: Annotated[float, typer.Option(help="Delay of every API answer.")] = 0.0,
    error_rate: Annotated[float, typer.Option(min=0, max=1, help="Share answered 5xx.")] = 0.0,
    rate_limit_rate: Annotated[
        float, typer.Option(min=0, max=1, help="Share answered 429 + Retry-After.")
    ] = 0.0,
) -> None:
    """Serve a local stand-in of MercadoPago's payments API (control API under /_sandbox)."""
    from barberpro.payments.mercadopago import sandbox

    sandbox.run(
        host=host,
        port=port,
        access_token=access_token or None,
        webhook_secret=webhook_secret or None,
        seed=seed,
        faults={
            "latency_ms": latency_ms,
            "error_rate": error_rate,
            "rate_limit_rate": rate_limit_rate,
        },
    )


def _safe_url(url: str) -> str:
    """Return ``url`` without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


export = typer.Typer(help="Write configuration for other tools.", no_args_is_help=True)
cli.add_typer(export, name="export")


class ReportFormat(StrEnum):
    JSON = "json"
    HTML = "html"
    PDF = "pdf"


@cli.command()
def report(
    day: Annotated[
        str | None, typer.Option("--date", help="The ART day, YYYY-MM-DD (default today).")
    ] = None,
    format: Annotated[ReportFormat, typer.Option(help="json, html or pdf.")] = ReportFormat.JSON,
    out: Annotated[
        Path | None, typer.Option(help="File to write (default stdout; a PDF needs one).")
    ] = None,
) -> None:
    """The launch report of one ART day, from the configured database."""
    from datetime import UTC, date, datetime

    from barberpro.argentina.timezone import ART

    try:
        chosen = date.fromisoformat(day) if day else datetime.now(UTC).astimezone(ART).date()
    except ValueError as exc:
        console.print(f"[red]✗[/red] --date: {day!r} is not a date (YYYY-MM-DD)")
        raise typer.Exit(2) from exc
    if format is ReportFormat.PDF and out is None:
        console.print("[red]✗[/red] --out: a PDF is written to a file")
        raise typer.Exit(2)
    settings = _checked_rules_settings()
    found = asyncio.run(_report(settings, chosen))
    from barberpro.report import render

    if format is ReportFormat.PDF:
        assert out is not None
        out.write_bytes(render.pdf(found))
        console.print(f"[green]✓[/green] wrote {out}")
    elif format is ReportFormat.HTML:
        _write(render.html(found), out)
    else:
        import json

        _write(json.dumps(found, indent=2, ensure_ascii=False) + "\n", out)


async def _report(settings: Settings, day: date) -> dict[str, Any]:
    from barberpro.alerts import service as alert_service
    from barberpro.db import migrate
    from barberpro.db.engine import create_engine
    from barberpro.report.build import launch_report, sources_from

    engine = create_engine(settings.database_url)
    try:
        current, head = await migrate.revision(engine)
        if current != head:
            console.print(
                f"[red]✗[/red] the database at {_safe_url(settings.database_url)} is at schema "
                f"{current or 'nothing'}, not {head}: run `barberpro migrate` first"
            )
            raise typer.Exit(2)
        sources = sources_from(settings, engine, alert_service.rules_from(settings))
        return await launch_report(sources, day)
    finally:
        await engine.dispose()


def _write(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"[green]✓[/green] wrote {output}")


@export.command("prometheus-rules")
def export_prometheus_rules(
    output: Annotated[Path | None, typer.Option(help="File to write (default stdout).")] = None,
) -> None:
    """The alert rules (defaults plus overrides) as a Prometheus rules file."""
    from barberpro.alerts import export as alert_export
    from barberpro.alerts import service as alert_service

    rules = alert_service.rules_from(_checked_rules_settings())
    data, skipped = alert_export.prometheus_rules(rules)
    for reason in skipped:
        console.print(f"[yellow]![/yellow] left out: {reason}")
    _write(alert_export.to_yaml(data) + "\n", output)


@export.command("grafana-dashboard")
def export_grafana_dashboard(
    output: Annotated[Path | None, typer.Option(help="File to write (default stdout).")] = None,
) -> None:
    """A Grafana dashboard JSON over the metrics /metrics exposes."""
    import json

    from barberpro.alerts import grafana
    from barberpro.alerts import service as alert_service

    rules = alert_service.rules_from(_checked_rules_settings())
    _write(json.dumps(grafana.grafana_dashboard(rules), indent=2) + "\n", output)


def _checked_rules_settings() -> Settings:
    from barberpro.alerts.rules import RuleError, load_rules

    settings = _settings()
    try:
        load_rules(file=settings.alert_rules_file or None, env_json=settings.alert_rules)
    except RuleError as exc:
        console.print(f"[red]✗[/red] {exc}")
        raise typer.Exit(2) from exc
    return settings


def main() -> None:
    """Entry point of the ``barberpro`` script."""
    cli()
