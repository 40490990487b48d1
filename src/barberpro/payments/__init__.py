"""Payments: the MercadoPago webhook receiver, its durable retry queue and the API client."""
