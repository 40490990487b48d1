"""Referral channel of a visit: whatsapp, instagram, facebook, google, direct or other."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Literal, get_args
from urllib.parse import parse_qsl, urlsplit

Channel = Literal["whatsapp", "instagram", "facebook", "google", "direct", "other"]
CHANNELS: tuple[Channel, ...] = get_args(Channel)

# A referrer host belongs to a channel when it is one of these or a subdomain of one
# (www.instagram.com, lm.facebook.com). Entries such as "com.whatsapp" are Android package names,
# which browsers send as android-app://com.whatsapp/.
_HOSTS: Mapping[Channel, tuple[str, ...]] = {
    "whatsapp": (
        "wa.me",
        "whatsapp.com",
        "web.whatsapp.com",
        "api.whatsapp.com",
        "com.whatsapp",
        "l.wl.co",
    ),
    "instagram": ("instagram.com", "l.instagram.com", "ig", "com.instagram.android"),
    "facebook": (
        "facebook.com",
        "m.facebook.com",
        "l.facebook.com",
        "lm.facebook.com",
        "fb",
        "fb.com",
        "fb.me",
        "com.facebook.katana",
    ),
    "google": ("com.google.android.googlequicksearchbox",),
}

# Sub-packages are the same app (com.whatsapp.w4b is WhatsApp Business), so package names also
# match by prefix; only for android-app:// referrers, where the "host" is a package.
_ANDROID_SCHEME = "android-app"

# google.<tld> and google.<second level>.<country>: google.de, google.com.ar, google.co.uk.
_GOOGLE_SECOND_LEVELS = frozenset({"com", "co", "net", "org", "gob", "gov", "edu", "ac"})
_TLD = re.compile(r"[a-z]{2,63}")
_COUNTRY = re.compile(r"[a-z]{2}")

# utm_source / source spellings, compared after folding case, accents and punctuation away.
_SOURCE_ALIASES: Mapping[str, Channel] = {
    **dict.fromkeys(("whatsapp", "wa", "wsp", "wpp", "whatsappbusiness"), "whatsapp"),
    **dict.fromkeys(("instagram", "ig", "insta"), "instagram"),
    **dict.fromkeys(("facebook", "fb", "face"), "facebook"),
    **dict.fromkeys(("google", "googleads", "adwords"), "google"),
    "direct": "direct",
}

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_HAS_AUTHORITY = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*:)?//")


def _fold_source(value: str) -> str:
    """Return `value` casefolded without accents or punctuation ("Whats-App" -> "whatsapp")."""
    decomposed = unicodedata.normalize("NFKD", value)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _NON_ALNUM.sub("", bare)


def _is_google_host(host: str) -> bool:
    """Return True for google.<tld>, google.<sld>.<cc> and their subdomains."""
    labels = host.split(".")
    if "google" not in labels:
        return False
    tail = labels[len(labels) - labels[::-1].index("google") :]
    if len(tail) == 1:
        return _TLD.fullmatch(tail[0]) is not None
    if len(tail) == 2:
        return tail[0] in _GOOGLE_SECOND_LEVELS and _COUNTRY.fullmatch(tail[1]) is not None
    return False


def _host_channel(host: str, *, android_package: bool) -> Channel | None:
    """Return the channel a referrer host (or Android package) belongs to, if any."""
    host = host.strip().rstrip(".").lower()
    if not host:
        return None
    for channel, entries in _HOSTS.items():
        for entry in entries:
            if host == entry or host.endswith("." + entry):
                return channel
            if android_package and host.startswith(entry + "."):
                return channel
    if _is_google_host(host):
        return "google"
    return None


def _source_channel(source: str) -> Channel:
    """Return the channel a non-empty utm_source/source value names; "other" if none."""
    channel = _SOURCE_ALIASES.get(_fold_source(source))
    if channel is not None:
        return channel
    # Some links carry a host or URL as the source (utm_source=l.instagram.com, google.com.ar).
    text = source.strip()
    if ("." in text or "/" in text) and not any(c.isspace() for c in text):
        return _referrer_channel(text)
    return "other"


def _utm_source(landing_url: str | None) -> str | None:
    """Return the landing URL's utm_source (key in any case), or None when absent or unparsable."""
    if not landing_url:
        return None
    try:
        query = urlsplit(landing_url.strip()).query
        pairs = parse_qsl(query, keep_blank_values=False)
    except ValueError:
        return None
    for key, value in pairs:
        if key.lower() == "utm_source" and value.strip():
            return value
    return None


def _referrer_channel(referrer_url: str) -> Channel:
    """Return the channel of a non-empty referrer URL, bare host or android-app:// URL."""
    text = referrer_url.strip()
    # Without "//" urlsplit reads "wa.me/123" as a path, so bare hosts are given an empty scheme.
    if _HAS_AUTHORITY.match(text) is None:
        text = "//" + text
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:  # e.g. an unbalanced "[" in the host: not a URL we can read
        return "other"
    if host is None:
        return "other"
    channel = _host_channel(host, android_package=parts.scheme.lower() == _ANDROID_SCHEME)
    return channel or "other"


def classify_referral(
    *,
    source: str | None = None,
    medium: str | None = None,
    referrer_url: str | None = None,
    landing_url: str | None = None,
) -> Channel:
    """Return the visit's channel: from the source, else the referrer host, else "direct".

    `source` (the client's own reading) wins over the landing URL's utm_source; any non-empty
    source decides on its own, so an unknown one is "other" whatever the referrer. `medium` is
    accepted with the rest of the referral block but does not change the channel. Never raises.
    """
    del medium  # the channel rule reads the source and the referrer only
    if source is not None and source.strip():
        return _source_channel(source)
    utm_source = _utm_source(landing_url)
    if utm_source is not None:
        return _source_channel(utm_source)
    if referrer_url is not None and referrer_url.strip():
        return _referrer_channel(referrer_url)
    return "direct"
