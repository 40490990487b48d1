"""How fast one simulator process can send a launch, and whether it or the service is the limit.

For each target, rates double from ``--start-rate`` while they hold: a step holds when the
simulator sent at least 95% of the asked rate, every answer came back within 15% of the step's
duration, and none failed. Targets, each a fresh server process of one worker:

- ``sink``: a server that answers every POST at once and stores nothing (bench/sink_app.py):
  the simulator's own ceiling, the baseline of the run;
- ``sqlite`` and ``postgres``: the service on a throwaway database, events committed.

Printed per step: the rate asked and achieved, and the CPU seconds per 1,000 events of the
simulator and of the server (a process near one core per second is the bottleneck); then each
target's highest held rate as a ratio of the sink's, measured in the same run.

    .venv/bin/python bench/simulate.py [--backends sqlite postgres] [--step-seconds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass

import psutil

from barberpro.simulator.plan import live_plan
from barberpro.simulator.run import run
from harness import Database, Server, temp_dir
from ingest_report import load_average


@dataclass(frozen=True, slots=True)
class Step:
    """One rate tried against one target."""

    target: str
    asked: float
    achieved: float
    wall: float
    failures: int
    client_cpu_per_1000: float
    server_cpu_per_1000: float
    client_cores: float
    server_cores: float

    def held(self, seconds: float) -> bool:
        return (
            self.achieved >= 0.95 * self.asked
            and self.wall <= 1.15 * seconds
            and not (self.failures)
        )


async def step(target: str, url: str, server_pid: int, rate: float, seconds: float) -> Step:
    # A seed of its own per step: the same ids sent again with other contents would conflict.
    plan = live_plan(int(rate), duration=seconds, rate=rate)
    me, server = psutil.Process(), psutil.Process(server_pid)
    mine, theirs = me.cpu_times(), server.cpu_times()
    began = time.monotonic()
    outcome = await run(plan, url, sockets=0, concurrency=128)
    wall = time.monotonic() - began
    mine_after, theirs_after = me.cpu_times(), server.cpu_times()
    client = (mine_after.user + mine_after.system) - (mine.user + mine.system)
    served = (theirs_after.user + theirs_after.system) - (theirs.user + theirs.system)
    thousands = max(outcome.sends, 1) / 1000
    return Step(
        target,
        rate,
        outcome.rate,
        wall,
        len(outcome.failures),
        client / thousands,
        served / thousands,
        client / wall,
        served / wall,
    )


async def ramp(
    target: str, url: str, pid: int, opts: argparse.Namespace
) -> tuple[float, list[Step]]:
    """Double the rate while it holds; return the highest held rate and every step."""
    steps, best, rate = [], 0.0, float(opts.start_rate)
    while rate <= opts.max_rate:
        found = await step(target, url, pid, rate, opts.step_seconds)
        steps.append(found)
        verdict = "holds" if found.held(opts.step_seconds) else "does not hold"
        print(
            f"  {target:10} asked {found.asked:7.0f}/s achieved {found.achieved:7.1f}/s "
            f"(all answered in {found.wall:5.1f} s, {found.failures} failed): {verdict}; "
            f"CPU per 1000 events: simulator {found.client_cpu_per_1000:.2f} s "
            f"({found.client_cores:.2f} cores), server {found.server_cpu_per_1000:.2f} s "
            f"({found.server_cores:.2f} cores)",
            flush=True,
        )
        if not found.held(opts.step_seconds):
            break
        best, rate = found.achieved, rate * 2
    return best, steps


async def main(opts: argparse.Namespace) -> None:
    work = temp_dir()
    print(f"simulator benchmark, {os.cpu_count()} CPUs, load average {load_average()}")
    results: dict[str, tuple[float, list[Step]]] = {}
    async with Server("sink", "sink_app:create_app", env={}, log_dir=work) as sink:
        results["sink"] = await ramp("sink", sink.url, sink.pid, opts)
    for backend in opts.backends:
        async with Database(backend, postgres_admin_url=opts.postgres_url, work_dir=work) as db:
            env = {"BARBERPRO_DATABASE_URL": db.url, "BARBERPRO_LOG_LEVEL": "WARNING"}
            async with Server(
                backend, "barberpro.app:app_from_env", env=env, log_dir=work
            ) as server:
                results[backend] = await ramp(backend, server.url, server.pid, opts)
    baseline = results["sink"][0]
    print("\nhighest held rate, as a ratio of the sink's (the simulator's own ceiling):")
    for target, (best, steps) in results.items():
        last = steps[-1]
        limit = "the simulator" if last.client_cores >= last.server_cores else "the service"
        print(
            f"  {target:10} {best:7.0f} events/s  x{best / baseline:.2f}  "
            f"(at its last step, {limit} used more CPU: simulator "
            f"{last.client_cores:.2f} cores, server {last.server_cores:.2f})"
        )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="*", default=["sqlite", "postgres"])
    parser.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--start-rate", type=float, default=100.0)
    parser.add_argument("--max-rate", type=float, default=6400.0)
    parser.add_argument("--step-seconds", type=float, default=4.0)
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
