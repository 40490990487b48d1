"""Alerts: rules with severity and `for` duration, pending/firing/resolved, silences, notifiers."""
