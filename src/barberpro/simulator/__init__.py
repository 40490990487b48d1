"""A launch-day simulator: seeded traffic, sent over HTTP, with the figures it must produce."""
