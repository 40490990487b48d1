"""The 24 ISO 3166-2:AR subdivisions, their time zones, and a forgiving name-to-code lookup."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Province:
    """One ISO 3166-2:AR subdivision with the IANA zone its local clocks follow."""

    code: str  # "AR-X"
    name: str  # "Córdoba"
    zone: str  # "America/Argentina/Cordoba"


class UnknownProvinceError(ValueError):
    """Raised when a value is neither an ISO 3166-2:AR code nor a known province name."""


_BA = "America/Argentina/Buenos_Aires"
_CORDOBA = "America/Argentina/Cordoba"
_SALTA = "America/Argentina/Salta"

# Zones follow tzdata's zone.tab, whose comments list the provinces each zone covers; some are
# not the obvious one (Chubut follows Catamarca; La Pampa, Neuquén and Río Negro follow Salta).
PROVINCES: tuple[Province, ...] = (
    Province("AR-A", "Salta", _SALTA),
    Province("AR-B", "Buenos Aires", _BA),
    Province("AR-C", "Ciudad Autónoma de Buenos Aires", _BA),
    Province("AR-D", "San Luis", "America/Argentina/San_Luis"),
    Province("AR-E", "Entre Ríos", _CORDOBA),
    Province("AR-F", "La Rioja", "America/Argentina/La_Rioja"),
    Province("AR-G", "Santiago del Estero", _CORDOBA),
    Province("AR-H", "Chaco", _CORDOBA),
    Province("AR-J", "San Juan", "America/Argentina/San_Juan"),
    Province("AR-K", "Catamarca", "America/Argentina/Catamarca"),
    Province("AR-L", "La Pampa", _SALTA),
    Province("AR-M", "Mendoza", "America/Argentina/Mendoza"),
    Province("AR-N", "Misiones", _CORDOBA),
    Province("AR-P", "Formosa", _CORDOBA),
    Province("AR-Q", "Neuquén", _SALTA),
    Province("AR-R", "Río Negro", _SALTA),
    Province("AR-S", "Santa Fe", _CORDOBA),
    Province("AR-T", "Tucumán", "America/Argentina/Tucuman"),
    Province("AR-U", "Chubut", "America/Argentina/Catamarca"),
    Province("AR-V", "Tierra del Fuego", "America/Argentina/Ushuaia"),
    Province("AR-W", "Corrientes", _CORDOBA),
    Province("AR-X", "Córdoba", _CORDOBA),
    Province("AR-Y", "Jujuy", "America/Argentina/Jujuy"),
    Province("AR-Z", "Santa Cruz", "America/Argentina/Rio_Gallegos"),
)

PROVINCE_BY_CODE: Mapping[str, Province] = MappingProxyType({p.code: p for p in PROVINCES})

# Spellings people and other systems actually send, beyond the ISO code and name.
_ALIASES: Mapping[str, tuple[str, ...]] = {
    "AR-C": (
        "CABA",
        "C.A.B.A.",
        "Capital Federal",
        "Cap. Fed.",
        "Ciudad de Buenos Aires",
        "Cdad. de Buenos Aires",
        "Ciudad Autónoma de Bs. As.",
        "Ciudad de Bs. As.",
        "Buenos Aires City",
        "Autonomous City of Buenos Aires",
        "Capital",
        "Cap Fed",
    ),
    # "Buenos Aires" alone means the province: the city is nearly always written CABA/Capital.
    "AR-B": (
        "PBA",
        "GBA",
        "Gran Buenos Aires",
        "Bs. As.",
        "BsAs",
        "Bs Aires",
        "Buenos Aires Province",
        "Conurbano",
    ),
    "AR-X": ("Cba",),
    "AR-M": ("Mza",),
    "AR-T": ("Tucu",),
    "AR-S": ("Sta. Fe",),
    "AR-Z": ("Sta. Cruz",),
    "AR-E": ("E. Ríos",),
    "AR-W": ("Ctes",),
    "AR-Q": ("Nqn",),
    "AR-D": ("S. Luis",),
    "AR-J": ("S. Juan",),
    "AR-V": (
        "Tierra del Fuego, Antártida e Islas del Atlántico Sur",
        "Tierra del Fuego, Antártida e Islas del Atlántico Sud",
        "TDF",
    ),
    "AR-G": ("Sgo. del Estero", "Stgo. del Estero", "Santiago"),
}

# "Provincia de Córdoba" and its abbreviations name the same place as "Córdoba".
_PROVINCE_PREFIXES = (
    "provincia de",
    "provincia del",
    "provincia",
    "pcia de",
    "pcia",
    "prov de",
    "prov",
)

_NON_WORD = re.compile(r"[^0-9a-z]+")


def _fold(value: str) -> str:
    """Return `value` without accents, case, punctuation or repeated whitespace."""
    decomposed = unicodedata.normalize("NFKD", value)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    # Dots vanish rather than split words so that "C.A.B.A." folds like "CABA" and "Bs. As." like
    # "Bs As"; other punctuation (hyphens, commas, underscores) separates words.
    return _NON_WORD.sub(" ", bare.replace(".", "")).strip()


def _build_lookup() -> dict[str, str]:
    """Map every folded spelling (code, name, alias, "Provincia de ..." forms) to its code."""
    lookup: dict[str, str] = {}

    def add(spelling: str, code: str) -> None:
        key = _fold(spelling)
        existing = lookup.setdefault(key, code)
        if existing != code:  # a clash would silently misfile data, so fail at import instead
            raise AssertionError(f"{spelling!r} would mean both {existing} and {code}")

    for province in PROVINCES:
        add(province.code, province.code)  # "AR-X" folds to "ar x"
        add(province.code.replace("-", ""), province.code)  # "ARX"
        names = (province.name, *_ALIASES.get(province.code, ()))
        for name in names:
            add(name, province.code)
            if province.code != "AR-C":  # the city is not a province: no "Provincia de CABA"
                for prefix in _PROVINCE_PREFIXES:
                    add(f"{prefix} {name}", province.code)
    return lookup


_LOOKUP: Mapping[str, str] = MappingProxyType(_build_lookup())


def normalize_province(value: str) -> str:
    """Return the ISO 3166-2:AR code for a code, name or alias; else raise UnknownProvinceError."""
    code = _LOOKUP.get(_fold(value))
    if code is None:
        raise UnknownProvinceError(
            f"unknown province {value!r}: use an ISO 3166-2:AR code such as AR-X or a province name"
        )
    return code


def province_label(code: str) -> str | None:
    """Return the display name of a stored code ("AR-X": "Córdoba"); None for unknown."""
    found = PROVINCE_BY_CODE.get(code)
    return None if found is None else found.name


def province_name(code: str) -> str:
    """Return the display name ("Córdoba") for a code or anything normalize_province accepts."""
    return PROVINCE_BY_CODE[normalize_province(code)].name
