"""The dashboard page's first render and the launch report's build time, on a loaded database.

1. The data: an SQLite file holding ``--events`` events, loaded by ``bench/analytics.py``
   through the service's own writer (``--keep`` keeps it, and this bench reuses it: pass
   ``--database`` to name another file). A full ART day of operations series (yesterday, 24
   hours of every simulated route) is written to ``ops_hours`` as a process would write it.
2. The page: ``barberpro serve`` on that file, Debian's Chromium through Playwright; each run a
   fresh browser context with the token already in sessionStorage opens ``/dashboard`` and the
   page marks itself ready once every figure is drawn (operations, business, alerts). Baseline
   in the same run: the same browser loading the page without a token (its HTML, CSS and
   scripts, the sign-in form: no API call, no chart), so the ratio is the cost of the figures
   over the cost of a page load.
3. The report for yesterday: its JSON over HTTP against the business-intelligence report of the
   same day (its biggest part) as the baseline; its PDF (HTML, charts and WeasyPrint) against
   its JSON.

Targets: first render under 1 s; the report's JSON under 200 ms and its PDF under 3 s.

Usage::

    .venv/bin/python bench/page.py                      # 5,000,000 events (loads once, keeps)
    .venv/bin/python bench/page.py --events 300000 --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import delete, insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.server import running_server, server_env  # noqa: E402

from barberpro.argentina.timezone import ART, art_day_bounds  # noqa: E402
from barberpro.db.engine import create_engine  # noqa: E402
from barberpro.db.tables import ops_hours  # noqa: E402
from barberpro.monitoring.histogram import Stat  # noqa: E402
from barberpro.monitoring.windows import edges_for  # noqa: E402
from barberpro.report import render  # noqa: E402
from barberpro.simulator.run import ROUTES  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
TOKEN = "bench-page-admin-token-0123456789abcdef"
WORKDIR = Path(tempfile.gettempdir()) / "barberpro-bench-analytics"


def _kept(events: int) -> Path | None:
    for meta in sorted(WORKDIR.glob("*/meta.json")):
        data = orjson.loads(meta.read_bytes())
        found = meta.parent / "sqlite.db"
        if data.get("events") == events and "sqlite" in data.get("ingest", {}) and found.exists():
            return found
    return None


def loaded_database(events: int) -> Path:
    """Return the SQLite file of ``events`` events kept by bench/analytics.py (load it once)."""
    found = _kept(events)
    if found is not None:
        return found
    print(f"loading {events:,} events with bench/analytics.py (kept for the next run)...")
    command = [sys.executable, str(ROOT / "bench" / "analytics.py"), "--events", str(events),
               "--backend", "sqlite", "--keep", "--calls", "1", "--warmup", "0",
               "--sample", "1000"]  # fmt: skip
    subprocess.run(command, check=True)
    found = _kept(events)
    if found is None:
        raise SystemExit(f"bench/analytics.py kept no SQLite file of {events:,} events")
    return found


async def write_ops_day(database: Path, day: date, *, seed: int = 7) -> int:
    """Write 24 hours of one process's series for ``day``: every simulated route, each hour."""
    rng = random.Random(seed)
    start, _end = art_day_bounds(day)
    first_hour = int(start.timestamp()) // 3600
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    rows = []
    for index in range(24):
        series = []
        for path in sorted(set(ROUTES.values())):
            stat = Stat(edges_for("http"))
            for _ in range(rng.randint(500, 3000)):
                stat.record(rng.lognormvariate(1.2, 0.6), error=rng.random() < 0.002)
            series.append([["http", path, "POST", "2xx"], stat.to_list()])
        hour_s = (first_hour + index) * 3600
        samples = [[hour_s + m * 60, 3.1, 2.1e8, 35.0, 0.4, 2.0, 8, 0, 0] for m in range(60)]
        rows.append({"hour": first_hour + index, "process": "bench:1:0", "updated_at": 0,
                     "series": orjson.dumps(series).decode(),
                     "samples": orjson.dumps(samples).decode()})  # fmt: skip
    async with engine.begin() as conn:
        await conn.execute(delete(ops_hours).where(ops_hours.c.process == "bench:1:0"))
        await conn.execute(insert(ops_hours), rows)
    await engine.dispose()
    return len(rows)


async def page_renders(url: str, runs: int) -> tuple[list[float], list[float]]:
    """Return (first complete render ms, static page load ms) per run."""
    from playwright.async_api import async_playwright

    ready: list[float] = []
    static: list[float] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for _ in range(runs):
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await context.add_init_script(
                f"sessionStorage.setItem('barberpro.admin-token', {TOKEN!r})"
            )
            bare = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await bare.new_page()  # no token: the page and its scripts, no figure
            await page.goto(f"{url}/dashboard", wait_until="load")
            static.append(
                await page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            )
            await bare.close()
            page = await context.new_page()
            await page.goto(f"{url}/dashboard")
            await page.wait_for_selector("body[data-ready=true]", timeout=60_000)
            ready.append(float(await page.evaluate("Number(document.body.dataset.readyMs)")))
            await context.close()
        await browser.close()
    return ready, static


def timed_get(client: httpx.Client, path: str, runs: int) -> tuple[list[float], Any]:
    """Return the milliseconds of ``runs`` GETs of ``path`` (after a warm-up) and the last body."""
    client.get(path).raise_for_status()
    times, body = [], None
    for _ in range(runs):
        began = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        answer.raise_for_status()
        body = answer.json()
    return times, body


def line(name: str, samples: list[float], baseline: list[float], target: str) -> str:
    """Return one result line: p50, max, the ratio of the p50s, the target."""
    p50, base = statistics.median(samples), statistics.median(baseline)
    return (
        f"{name:<34} p50 {p50:9.1f} ms  max {max(samples):9.1f} ms  "
        f"ratio {p50 / base:6.2f}  {target}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--database", type=Path, help="an SQLite file already loaded")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        print("needs Debian's chromium (apt-get install chromium)")
        return 1
    database = args.database or loaded_database(args.events)
    yesterday = datetime.now(UTC).astimezone(ART).date() - timedelta(days=1)
    asyncio.run(write_ops_day(database, yesterday))
    env = server_env(database_url=f"sqlite+aiosqlite:///{database}", admin_token=TOKEN,
                     migrate_on_start="true")  # fmt: skip
    print(f"{database} ({database.stat().st_size / 1e9:.2f} GB), {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}, {args.runs} runs each")  # fmt: skip
    with running_server(env, startup_timeout=300) as server:
        ready, static = asyncio.run(page_renders(server.url, args.runs))
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=server.url, headers=auth, timeout=120) as client:
            day = yesterday.isoformat()
            bi_path = f"/api/v1/analytics/business-intelligence?from={day}&to={day}"
            bi, _ = timed_get(client, bi_path, args.runs)
            report_path = f"/api/v1/monitoring/launch-report?date={day}"
            report, found = timed_get(client, report_path, args.runs)
    render.pdf(found)  # warm: fonts, Vega, WeasyPrint
    pdf = []
    for _ in range(args.runs):
        began = time.perf_counter()
        pages = render.pdf(found)
        pdf.append((time.perf_counter() - began) * 1000)
    import io

    import pypdf

    count = len(pypdf.PdfReader(io.BytesIO(pages)).pages)
    print(line("page: first complete render", ready, static, "target < 1000 ms"))
    print(line("page: load without a token (baseline)", static, static, ""))
    print(line("report JSON, full day", report, bi, "target < 200 ms; ratio vs BI"))
    print(line("BI report, same day (baseline)", bi, bi, ""))
    print(line(f"report PDF ({count} pages)", pdf, report, "target < 3000 ms; ratio vs JSON"))
    print(f"report: {found['operations']['http']['requests']:,} requests in the day's series, "
          f"{found['business']['funnel']['units']:,} funnel units, "
          f"{len(found['recommendations'])} recommendations")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
