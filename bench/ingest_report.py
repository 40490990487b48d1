"""The figures of ``bench/ingest.py``: sides of a comparison, row checks, the printed table."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass, field

from harness import BENCH_DIR, WrkResult, require_wrk


@dataclass(slots=True)
class Side:
    """One side of a comparison, summed over rounds: units done and seconds spent."""

    units: int = 0
    seconds: float = 0.0
    rates: list[float] = field(default_factory=list)  # per round
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    errors: int = 0

    def add(self, units: int, seconds: float, result: WrkResult | None = None) -> None:
        """Add one measured run."""
        self.units += units
        self.seconds += seconds
        self.rates.append(units / seconds if seconds else 0.0)
        if result is not None:
            self.p50_ms.append(result.p50_ms)
            self.p99_ms.append(result.p99_ms)
            self.errors += result.status_errors + result.socket_errors

    @property
    def rate(self) -> float:
        """Units per second over all rounds."""
        return self.units / self.seconds if self.seconds else 0.0

    def latency(self) -> str:
        """Return 'p50/p99 ms' (worst round), or '' when wrk did not drive this side."""
        if not self.p50_ms:
            return ""
        return f"p50 {max(self.p50_ms):.1f} / p99 {max(self.p99_ms):.1f} ms"


@dataclass(slots=True)
class RowCheck:
    """Rows counted in ``events`` against the rows the 2xx answers acknowledged."""

    acked: int = 0
    stored: int = 0
    cut_off_max: int = 0  # rows of requests sent but unanswered when wrk stopped

    def add(self, *, acked: int, stored: int, cut_off_max: int) -> None:
        """Add one measured run."""
        self.acked += acked
        self.stored += stored
        self.cut_off_max += cut_off_max

    @property
    def ok(self) -> bool:
        """True when nothing acknowledged is missing and nothing unexplained is extra."""
        return self.acked <= self.stored <= self.acked + self.cut_off_max

    def describe(self) -> str:
        """Return the check as one line."""
        extra = self.stored - self.acked
        verdict = "OK" if self.ok else "MISMATCH"
        return (
            f"2xx rows {self.acked}, stored {self.stored} ({extra:+d}; requests cut off at "
            f"stop may add up to {self.cut_off_max}) {verdict}"
        )


@dataclass(slots=True)
class Figure:
    """One line of the result table."""

    backend: str
    scenario: str
    unit: str
    ours: Side
    baseline: Side
    target: float
    check: RowCheck

    @property
    def ratio(self) -> float:
        """Ours over baseline."""
        return self.ours.rate / self.baseline.rate if self.baseline.rate else 0.0

    def round_ratios(self) -> str:
        """Return the ratio of each round (ours and baseline ran back to back), for the noise."""
        pairs = zip(self.ours.rates, self.baseline.rates, strict=True)
        return ", ".join(f"{o / b:.2f}" if b else "-" for o, b in pairs)


def print_table(figures: list[Figure]) -> None:
    """Print the results: one line per comparison, then the row checks and latencies."""
    header = ("backend", "scenario", "unit", "ours", "baseline", "ratio", "target", "result")
    lines = [header]
    for f in figures:
        verdict = "PASS" if f.ratio >= f.target else "FAIL"
        lines.append(
            (
                f.backend,
                f.scenario,
                f.unit,
                f"{f.ours.rate:,.0f}",
                f"{f.baseline.rate:,.0f}",
                f"{f.ratio:.2f}",
                f">= {f.target:.2f}",
                verdict,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    print()
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    print()
    for f in figures:
        print(f"{f.backend} {f.scenario}: {f.check.describe()}")
        print(f"    ratio per round: {f.round_ratios()}")
        latency = f"ours {f.ours.latency()}"
        if f.baseline.latency():
            latency += f"; baseline {f.baseline.latency()}"
        print(
            f"    {latency}; non-2xx/socket errors ours {f.ours.errors}, "
            f"baseline {f.baseline.errors}"
        )


def describe_machine() -> str:
    """Return one line naming the machine and tools."""
    wrk = subprocess.run([require_wrk(), "--version"], capture_output=True, text=True, check=False)
    wrk_version = (wrk.stdout or wrk.stderr).split("[")[0].strip()
    return (
        f"{os.cpu_count()} CPUs (usable {_usable_cpus()}), "
        f"Python {platform.python_version()}, {wrk_version}, source {source_revision()}"
    )


def _usable_cpus() -> int | None:
    """Return the CPUs this process may run on (what ``nproc`` prints), where the OS says."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count()


def source_revision() -> str:
    """Return the git commit of the code measured, marked when src/ has uncommitted changes."""
    root = BENCH_DIR.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{commit}+local changes" if git("status", "--porcelain", "src") else commit


def load_average() -> str:
    """Return the 1-minute load average: above the CPU count, other work shared the machine."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"
