"""BarberPro launch-day backend: monitoring, alerts, MercadoPago payments, real-user analytics."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("barberpro")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
