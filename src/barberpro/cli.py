"""The ``barberpro`` command: serve, migrate, doctor."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from barberpro.config import Settings

cli = typer.Typer(help="BarberPro launch-day backend.", no_args_is_help=True, add_completion=False)
console = Console(stderr=True)


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
    from barberpro.kv import store_from_url

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
    if settings.redis_url is None:
        console.print("[yellow]![/yellow] redis: not configured; live state stays in this process")
    else:
        store = store_from_url(settings.redis_url)
        try:
            answered = await store.ping()
        finally:
            await store.close()
        say(
            answered,
            f"redis: {'answers' if answered else 'does not answer'} at "
            f"{_safe_url(settings.redis_url)}",
        )
    return healthy


def _safe_url(url: str) -> str:
    """Return ``url`` without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def main() -> None:
    """Entry point of the ``barberpro`` script."""
    cli()
