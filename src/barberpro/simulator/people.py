"""How Argentine clients arrive: their devices, the links they follow, what they do and pay with.

Weights are relative. The referral forms are what the apps really send: WhatsApp links mostly
arrive with no referrer and ``utm_source=whatsapp`` (some through WhatsApp's link shim
``l.wl.co``, some from the Android app), Instagram through its shim ``l.instagram.com`` with a
``fbclid`` or tagged ``utm_source=ig``, Google from its search pages or its Android app.
"""

from __future__ import annotations

from typing import Any

SITE = "https://barberpro.com.ar"

_ANDROID = "Mozilla/5.0 (Linux; Android 13; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko)"
_IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"

# (device block, weight): 86% mobile, mostly Android; Instagram's in-app browser among them.
DEVICES: tuple[tuple[dict[str, Any], int], ...] = (
    (
        {
            "type": "mobile",
            "os": "android",
            "browser": "chrome",
            "user_agent": f"{_ANDROID} Chrome/126.0.6478.71 Mobile Safari/537.36",
        },
        48,
    ),
    (
        {
            "type": "mobile",
            "os": "android",
            "browser": "instagram",
            "user_agent": f"{_ANDROID} Chrome/126.0.6478.71 Mobile Safari/537.36 "
            "Instagram 337.0.0.35.102 Android (33/13; 420dpi; 1080x2340; samsung; SM-A546E)",
        },
        12,
    ),
    (
        {
            "type": "mobile",
            "os": "ios",
            "browser": "safari",
            "user_agent": f"{_IPHONE} (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        },
        19,
    ),
    (
        {
            "type": "mobile",
            "os": "ios",
            "browser": "instagram",
            "user_agent": f"{_IPHONE} (KHTML, like Gecko) Mobile/15E148 "
            "Instagram 337.0.0.23.87 (iPhone14,5; iOS 17_5; es_AR; es-AR; scale=3.00)",
        },
        7,
    ),
    ({"type": "desktop", "os": "windows", "browser": "chrome"}, 9),
    ({"type": "tablet", "os": "android", "browser": "chrome"}, 3),
    ({"os": "android"}, 2),  # no type: the service reports it as unknown
)

_WL = "https://l.wl.co/l?u=https%3A%2F%2Fbarberpro.com.ar%2Fb%2F"
_IG = "https://l.instagram.com/?u=https%3A%2F%2Fbarberpro.com.ar%2F&e=AT0"

# channel: (referral blocks as sent, weight of the channel among new clients)
REFERRALS: dict[str, tuple[tuple[dict[str, str], ...], int]] = {
    "whatsapp": (
        (
            {"landing_url": f"{SITE}/?utm_source=whatsapp&utm_medium=social"},
            {"landing_url": f"{SITE}/b/corte?utm_source=whatsapp"},
            {"landing_url": f"{SITE}/?utm_source=WhatsApp&utm_medium=share&utm_campaign=amigos"},
            {"referrer_url": f"{_WL}barber-7", "landing_url": f"{SITE}/b/barber-7"},
            {"referrer_url": "android-app://com.whatsapp/", "landing_url": f"{SITE}/"},
        ),
        34,
    ),
    "instagram": (
        (
            {"referrer_url": _IG, "landing_url": f"{SITE}/?fbclid=PAZXh0bgNhZW0CMTEAAaZ"},
            {"referrer_url": "https://l.instagram.com/", "landing_url": f"{SITE}/?fbclid=IwAR2"},
            {"landing_url": f"{SITE}/?utm_source=ig&utm_medium=social&utm_content=link_in_bio"},
            {"source": "instagram", "medium": "story"},
        ),
        26,
    ),
    "google": (
        (
            {"referrer_url": "https://www.google.com.ar/"},
            {"referrer_url": "https://www.google.com/"},
            {"referrer_url": "android-app://com.google.android.googlequicksearchbox/"},
            {"source": "google", "medium": "cpc", "campaign": "barberias"},
        ),
        15,
    ),
    "facebook": (
        (
            {"referrer_url": "https://l.facebook.com/l.php?u=https%3A%2F%2Fbarberpro.com.ar"},
            {"referrer_url": "https://m.facebook.com/", "landing_url": f"{SITE}/?fbclid=IwY2"},
        ),
        9,
    ),
    "direct": (({}, {"landing_url": f"{SITE}/"}), 12),
    "other": (
        (
            {"referrer_url": "https://www.clarin.com/sociedad/barberias.html"},
            {"source": "newsletter"},
        ),
        4,
    ),
}

ACTIONS: tuple[tuple[str, int], ...] = (
    ("open_app", 30),
    ("search_providers", 25),
    ("view_provider", 22),
    ("read_reviews", 12),
    ("filter_price", 10),
    ("view_map", 8),
    ("favorite_add", 6),
    ("share_profile", 4),
    ("login", 4),
    ("contact_support", 1),
)

SERVICES = ("corte", "barba", "corte_barba", "color", "perfilado")

# MercadoPago's ids in Argentina: (payment_method_id, payment_type_id, weight).
METHODS: tuple[tuple[str, str, int], ...] = (
    ("visa", "credit_card", 27),
    ("master", "credit_card", 20),
    ("amex", "credit_card", 4),
    ("naranja", "credit_card", 7),
    ("cabal", "credit_card", 3),
    ("debvisa", "debit_card", 13),
    ("debmaster", "debit_card", 7),
    ("account_money", "account_money", 14),
    ("rapipago", "ticket", 3),
    ("pagofacil", "ticket", 2),
)
# Cuotas, on credit cards only: mostly one payment.
PLANS: tuple[tuple[int, int], ...] = ((1, 62), (3, 20), (6, 11), (12, 7))
# Chance that a payment is rejected, by cuotas (longer plans fail more often).
REJECTED: dict[int, float] = {1: 0.06, 3: 0.10, 6: 0.18, 12: 0.30}

# The funnel: the chance of going on to step k (index k - 1) once the previous one is done.
STEP_NAMES = ("search", "provider_view", "slot_selected", "booking_created", "payment_completed")
CONTINUE = (1.0, 0.72, 0.62, 0.7, 0.82)
