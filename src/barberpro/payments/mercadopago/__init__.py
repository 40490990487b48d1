"""MercadoPago: webhook signatures, the payments API client, payloads, and a local stand-in."""
