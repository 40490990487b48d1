"""Argentina-specific rules: provinces (ISO 3166-2:AR), ART time, DNI/CUIT, referral channels.

Everything here is pure and import-cheap, so the HTTP schemas, the SQL queries and the simulator
can share one definition of each rule.
"""

from __future__ import annotations

from barberpro.argentina.identity import (
    Checked,
    IdType,
    Kind,
    check,
    cuit_hash,
    cuit_kind,
    format_cuit,
    format_dni,
    is_valid_cuit,
    is_valid_dni,
    normalize_cuil,
    normalize_cuit,
    normalize_dni,
)
from barberpro.argentina.provinces import (
    PROVINCE_BY_CODE,
    PROVINCES,
    Province,
    UnknownProvinceError,
    normalize_province,
    province_name,
)
from barberpro.argentina.referrals import CHANNELS, Channel, classify_referral
from barberpro.argentina.timezone import ART, art_day_bounds, parse_art_datetime, to_art

__all__ = [
    "ART",
    "CHANNELS",
    "PROVINCES",
    "PROVINCE_BY_CODE",
    "Channel",
    "Checked",
    "IdType",
    "Kind",
    "Province",
    "UnknownProvinceError",
    "art_day_bounds",
    "check",
    "classify_referral",
    "cuit_hash",
    "cuit_kind",
    "format_cuit",
    "format_dni",
    "is_valid_cuit",
    "is_valid_dni",
    "normalize_cuil",
    "normalize_cuit",
    "normalize_dni",
    "normalize_province",
    "parse_art_datetime",
    "province_name",
    "to_art",
]
