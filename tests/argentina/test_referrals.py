"""Referral channel classification: source, then landing utm_source, then referrer host."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from barberpro.argentina import CHANNELS, Channel, classify_referral

# Written out from the channel rule, independently of the module's table.
HOSTS: dict[Channel, tuple[str, ...]] = {
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
    "google": (
        "google.com",
        "www.google.com",
        "google.com.ar",
        "google.de",
        "google.co.uk",
        "com.google.android.googlequicksearchbox",
    ),
}
ANDROID_PACKAGES: dict[Channel, tuple[str, ...]] = {
    "whatsapp": ("com.whatsapp", "com.whatsapp.w4b"),
    "instagram": ("com.instagram.android",),
    "facebook": ("com.facebook.katana",),
    "google": ("com.google.android.googlequicksearchbox",),
}
SOURCES: dict[Channel, tuple[str, ...]] = {
    "whatsapp": ("WhatsApp", "whatsapp", "wa", "WA", "Whats App"),
    "instagram": ("ig", "IG", "instagram", "Instagram"),
    "facebook": ("fb", "FB", "facebook", "Facebook"),
    "google": ("google", "Google", "GOOGLE"),
}

host_cases = st.sampled_from([(c, h) for c, hosts in HOSTS.items() for h in hosts])
package_cases = st.sampled_from([(c, p) for c, ps in ANDROID_PACKAGES.items() for p in ps])
source_cases = st.sampled_from([(c, s) for c, ss in SOURCES.items() for s in ss])
labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
subdomains = st.lists(labels, max_size=3).map(lambda ls: "".join(f"{label}." for label in ls))
url_text = st.text(alphabet="abcXYZ0123456789-._~%=&+/", max_size=30)
paths = st.builds(lambda p: "/" + p, url_text) | st.just("")
queries = st.builds(lambda q: "?" + q, url_text) | st.just("")
optional_text = st.none() | st.text(max_size=60)


def test_channels() -> None:
    """CHANNELS lists the six channels of the Channel type."""
    assert CHANNELS == ("whatsapp", "instagram", "facebook", "google", "direct", "other")


@given(
    case=host_cases,
    scheme=st.sampled_from(["https://", "http://", "//", ""]),
    subdomain=subdomains,
    path=paths,
    query=queries,
)
def test_referrer_hosts(
    case: tuple[Channel, str], scheme: str, subdomain: str, path: str, query: str
) -> None:
    """A referrer on a channel's host or any subdomain of it, with any path, is that channel."""
    channel, host = case
    referrer = f"{scheme}{subdomain}{host}{path}{query}"
    assert classify_referral(referrer_url=referrer) == channel


@given(case=host_cases)
def test_referrer_host_case_is_ignored(case: tuple[Channel, str]) -> None:
    """Host names match whatever their case."""
    channel, host = case
    assert classify_referral(referrer_url=f"https://{host.upper()}/") == channel


@given(case=package_cases, path=paths)
def test_android_app_referrers(case: tuple[Channel, str], path: str) -> None:
    """An android-app:// referrer names the app's package; sub-packages are the same app."""
    channel, package = case
    assert classify_referral(referrer_url=f"android-app://{package}{path}") == channel


@pytest.mark.parametrize(
    "referrer",
    [
        "https://example.com/",
        "https://notinstagram.com/",
        "https://instagram.com.evil.net/",
        "https://google.com.evil.net/",
        "https://fakewa.me/",
        "https://www.bing.com/search?q=barber",
        "android-app://com.google.android.gm",
        "http://[::1",
        "about:blank",
        "null",
    ],
)
def test_other_referrers(referrer: str) -> None:
    """A referrer that is not one of the channels' hosts, or cannot be read, is "other"."""
    assert classify_referral(referrer_url=referrer) == "other"


@given(case=source_cases, padding=st.sampled_from(["", " ", "  \t"]))
def test_sources(case: tuple[Channel, str], padding: str) -> None:
    """Common spellings of a channel's source match whatever their case and padding."""
    channel, source = case
    assert classify_referral(source=f"{padding}{source}{padding}") == channel


@given(case=source_cases)
def test_utm_source_of_landing_url(case: tuple[Channel, str]) -> None:
    """With no explicit source, the landing URL's utm_source decides."""
    channel, source = case
    landing = f"https://barberpro.com.ar/reservar?utm_medium=social&utm_source={source}"
    assert classify_referral(landing_url=landing) == channel


@given(source=source_cases, referrer=host_cases, via_landing=st.booleans())
def test_source_wins_over_referrer(
    source: tuple[Channel, str], referrer: tuple[Channel, str], via_landing: bool
) -> None:
    """A recognised source, given directly or as utm_source, decides whatever the referrer says."""
    channel, text = source
    referrer_url = f"https://{referrer[1]}/"
    if via_landing:
        landing = f"https://barberpro.com.ar/?utm_source={text}"
        result = classify_referral(referrer_url=referrer_url, landing_url=landing)
    else:
        result = classify_referral(source=text, referrer_url=referrer_url)
    assert result == channel


def test_explicit_source_wins_over_utm_source() -> None:
    """The client's source field outranks the landing URL's utm_source."""
    landing = "https://barberpro.com.ar/?utm_source=instagram"
    assert classify_referral(source="whatsapp", landing_url=landing) == "whatsapp"


def test_unknown_source_is_other_even_with_a_known_referrer() -> None:
    """An unrecognised source still decides: the referrer is not consulted."""
    assert classify_referral(source="newsletter", referrer_url="https://wa.me/1") == "other"


@pytest.mark.parametrize(
    ("source", "channel"),
    [
        ("l.instagram.com", "instagram"),
        ("google.com.ar", "google"),
        ("https://fb.me/x", "facebook"),
    ],
)
def test_host_as_source(source: str, channel: Channel) -> None:
    """A source that is a host or URL is classified like a referrer."""
    assert classify_referral(source=source) == channel


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"source": None, "referrer_url": None},
        {"source": "", "referrer_url": ""},
        {"source": "  ", "referrer_url": " \t"},
        {"landing_url": "https://barberpro.com.ar/reservar?utm_campaign=launch"},
        {"landing_url": "https://barberpro.com.ar/?utm_source="},
        {"medium": "cpc"},
    ],
)
def test_direct(kwargs: dict[str, str | None]) -> None:
    """No source and no referrer is a direct visit."""
    assert classify_referral(**kwargs) == "direct"


@given(
    source=optional_text,
    medium=optional_text,
    referrer_url=optional_text,
    landing_url=optional_text,
)
def test_arbitrary_text_never_raises(
    source: str | None, medium: str | None, referrer_url: str | None, landing_url: str | None
) -> None:
    """Any input gives one of the six channels, and medium never changes which."""
    channel = classify_referral(
        source=source, medium=medium, referrer_url=referrer_url, landing_url=landing_url
    )
    assert channel in CHANNELS
    assert channel == classify_referral(
        source=source, referrer_url=referrer_url, landing_url=landing_url
    )


@given(referrer_url=st.text(alphabet="[]@:/?#%.abc0123456789 \\", max_size=40))
def test_url_punctuation_never_raises(referrer_url: str) -> None:
    """Referrers full of URL punctuation (brackets, @, ports) are classified, never raised on."""
    assert classify_referral(referrer_url=referrer_url) in CHANNELS
