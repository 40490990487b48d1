"""Provinces: the ISO 3166-2:AR table, its time zones and the name-to-code lookup."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from barberpro.argentina import (
    PROVINCE_BY_CODE,
    PROVINCES,
    Province,
    UnknownProvinceError,
    normalize_province,
    province_name,
)
from barberpro.argentina import provinces as provinces_module

# Written out from ISO 3166-2:AR, independently of the module's table.
ISO_NAMES = {
    "AR-A": "Salta",
    "AR-B": "Buenos Aires",
    "AR-C": "Ciudad Autónoma de Buenos Aires",
    "AR-D": "San Luis",
    "AR-E": "Entre Ríos",
    "AR-F": "La Rioja",
    "AR-G": "Santiago del Estero",
    "AR-H": "Chaco",
    "AR-J": "San Juan",
    "AR-K": "Catamarca",
    "AR-L": "La Pampa",
    "AR-M": "Mendoza",
    "AR-N": "Misiones",
    "AR-P": "Formosa",
    "AR-Q": "Neuquén",
    "AR-R": "Río Negro",
    "AR-S": "Santa Fe",
    "AR-T": "Tucumán",
    "AR-U": "Chubut",
    "AR-V": "Tierra del Fuego",
    "AR-W": "Corrientes",
    "AR-X": "Córdoba",
    "AR-Y": "Jujuy",
    "AR-Z": "Santa Cruz",
}

# The two-letter province abbreviations that tzdata's zone.tab comments use.
ZONE_TAB_ABBREVIATIONS = {
    "BA": "AR-B",
    "CF": "AR-C",
    "CB": "AR-X",
    "CC": "AR-H",
    "CN": "AR-W",
    "ER": "AR-E",
    "FM": "AR-P",
    "MN": "AR-N",
    "SE": "AR-G",
    "SF": "AR-S",
    "SA": "AR-A",
    "LP": "AR-L",
    "NQ": "AR-Q",
    "RN": "AR-R",
    "JY": "AR-Y",
    "TM": "AR-T",
    "CT": "AR-K",
    "CH": "AR-U",
    "LR": "AR-F",
    "SJ": "AR-J",
    "MZ": "AR-M",
    "SL": "AR-D",
    "SC": "AR-Z",
    "TF": "AR-V",
}


def strip_accents(text: str) -> str:
    """Return `text` without combining accents ("Córdoba" -> "Cordoba")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def test_table_is_the_iso_list() -> None:
    """PROVINCES holds exactly the 24 ISO 3166-2:AR codes with their ISO names, in code order."""
    assert {p.code: p.name for p in PROVINCES} == ISO_NAMES
    assert [p.code for p in PROVINCES] == sorted(ISO_NAMES)


def test_province_by_code_indexes_the_table() -> None:
    """PROVINCE_BY_CODE maps each code to its own Province and nothing else."""
    assert dict(PROVINCE_BY_CODE) == {p.code: p for p in PROVINCES}


def test_province_is_frozen() -> None:
    """A Province cannot be modified after creation."""
    with pytest.raises(AttributeError):
        PROVINCES[0].zone = "UTC"  # type: ignore[misc]


@pytest.mark.parametrize("province", PROVINCES, ids=lambda p: p.code)
def test_zone_loads(province: Province) -> None:
    """Every province's zone is a real IANA zone with Argentina's current UTC-3 offset."""
    assert province.zone.startswith("America/Argentina/")
    assert datetime(2024, 6, 1, tzinfo=ZoneInfo(province.zone)).utcoffset() == timedelta(hours=-3)


def test_zones_follow_zone_tab() -> None:
    """Each province uses the zone whose zone.tab comment names it (e.g. Chubut -> Catamarca)."""
    tzdata = pytest.importorskip("tzdata")
    zone_tab = resources.files(tzdata).joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    expected: dict[str, str] = {}
    for line in zone_tab.splitlines():
        fields = line.split("\t")
        if fields[0] != "AR":
            continue
        for abbreviation in re.findall(r"\b[A-Z]{2}\b", fields[3]):
            expected[ZONE_TAB_ABBREVIATIONS[abbreviation]] = fields[2]
    assert {p.code: p.zone for p in PROVINCES} == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("CABA", "AR-C"),
        ("Capital Federal", "AR-C"),
        ("Ciudad de Buenos Aires", "AR-C"),
        ("Ciudad Autónoma de Buenos Aires", "AR-C"),
        ("C.A.B.A.", "AR-C"),
        ("caba", "AR-C"),
        ("Buenos Aires", "AR-B"),
        ("Provincia de Buenos Aires", "AR-B"),
        ("Pcia. de Buenos Aires", "AR-B"),
        ("PBA", "AR-B"),
        ("GBA", "AR-B"),
        ("Tierra del Fuego, Antártida e Islas del Atlántico Sur", "AR-V"),
        ("Tierra del Fuego", "AR-V"),
        ("Santiago del Estero", "AR-G"),
        ("Provincia de Córdoba", "AR-X"),
        ("Provincia del Chaco", "AR-H"),
        ("ar-x", "AR-X"),
        ("  AR-X ", "AR-X"),
        ("CÓRDOBA", "AR-X"),
        ("Rio Negro", "AR-R"),
        ("neuquen", "AR-Q"),
    ],
)
def test_aliases(value: str, code: str) -> None:
    """Common spellings of CABA, the province of Buenos Aires and others map to their ISO code."""
    assert normalize_province(value) == code


@st.composite
def spelled(draw: st.DrawFn, text: str) -> str:
    """Return `text` with random accent stripping, per-letter case and whitespace padding."""
    if draw(st.booleans()):
        text = strip_accents(text)
    upper = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    text = "".join(c.upper() if u else c.lower() for c, u in zip(text, upper, strict=True))
    gap = draw(st.sampled_from([" ", "  ", " \t "]))
    text = text.replace(" ", gap)
    padding = st.text(alphabet=" \t\n\u00a0", max_size=3)
    return draw(padding) + text + draw(padding)


@given(data=st.data(), province=st.sampled_from(PROVINCES))
def test_code_and_name_variants_normalise(data: st.DataObject, province: Province) -> None:
    """A code or name in any case, with or without accents and padding, gives the code."""
    text = data.draw(st.sampled_from([province.code, province.name]))
    assert normalize_province(data.draw(spelled(text))) == province.code


@given(st.text(max_size=40))
def test_unknown_text_raises(value: str) -> None:
    """Text that folds to no code, name or alias raises UnknownProvinceError naming the value."""
    assume(provinces_module._fold(value) not in provinces_module._LOOKUP)
    with pytest.raises(UnknownProvinceError) as caught:
        normalize_province(value)
    assert repr(value) in str(caught.value)


@given(province=st.sampled_from(PROVINCES), suffix=st.text(alphabet="bkqwxz", min_size=1))
def test_no_fuzzy_match(province: Province, suffix: str) -> None:
    """A name with extra letters is not silently taken as the province it resembles."""
    with pytest.raises(UnknownProvinceError):
        normalize_province(province.name + suffix)


@given(st.text())
def test_any_text_gives_a_code_or_the_documented_error(value: str) -> None:
    """normalize_province returns a known code or raises UnknownProvinceError, nothing else."""
    try:
        code = normalize_province(value)
    except UnknownProvinceError:
        return
    assert code in PROVINCE_BY_CODE


def test_unknown_province_error_is_a_value_error() -> None:
    """UnknownProvinceError is a ValueError, so pydantic turns it into a 422 naming the field."""
    with pytest.raises(ValueError, match="unknown province 'Narnia'"):
        normalize_province("Narnia")


def test_empty_is_unknown() -> None:
    """An empty or blank value is not a province."""
    for value in ("", "   "):
        with pytest.raises(UnknownProvinceError):
            normalize_province(value)


@pytest.mark.parametrize(("code", "name"), sorted(ISO_NAMES.items()))
def test_province_name(code: str, name: str) -> None:
    """province_name returns the ISO name for a code in any case."""
    assert province_name(code) == name
    assert province_name(code.lower()) == name


def test_province_name_unknown() -> None:
    """province_name rejects a code that does not exist."""
    with pytest.raises(UnknownProvinceError):
        province_name("AR-I")
