"""Real-user analytics: validate and durably store events, answer questions about them in SQL."""
