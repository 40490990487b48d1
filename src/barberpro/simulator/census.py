"""Where the simulated launch happens: Argentina's 24 provinces as people write them.

Populations are the 2022 census (INDEC, millions of people); a province's share of the clients
follows its population. ``barbers`` is how many barbers per million people signed up before the
launch: some provinces are under-served on purpose (few or none for their demand).

Each province lists the ways people type it (``typed``), every one of which the service must
understand as that province; ``UNRECOGNISABLE`` are texts nobody can place, which the service
stores as unknown. The simulator knows which province each text means: its ground truth reads
that, never the service's reading.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Province:
    """An ISO 3166-2:AR province, its population, its barbers and how people write it."""

    code: str
    name: str
    millions: float
    barbers: float  # barbers per million people
    typed: tuple[str, ...]
    cities: tuple[str, ...]


PROVINCES: tuple[Province, ...] = (
    Province(
        "AR-B",
        "Buenos Aires",
        17.57,
        1.0,
        ("Buenos Aires", "buenos aires", "Bs As", "Bs. As.", "Pcia de Bs As", "PBA", "AR-B"),
        ("La Plata", "Mar del Plata", "Quilmes", "Bahía Blanca"),
    ),
    Province(
        "AR-X",
        "Córdoba",
        3.98,
        1.2,
        ("Córdoba", "Cordoba", "cordoba", "Cba", "Provincia de Córdoba"),
        ("Córdoba", "Villa Carlos Paz", "Río Cuarto"),
    ),
    Province(
        "AR-S",
        "Santa Fe",
        3.56,
        1.1,
        ("Santa Fe", "santa fe", "Sta. Fe", "AR-S"),
        ("Rosario", "Santa Fe", "Rafaela"),
    ),
    Province(
        "AR-C",
        "Ciudad Autónoma de Buenos Aires",
        3.12,
        0.6,
        ("CABA", "Capital Federal", "Capital", "C.A.B.A.", "Ciudad de Buenos Aires"),
        ("Palermo", "Recoleta", "Caballito", "Belgrano"),
    ),
    Province(
        "AR-M", "Mendoza", 2.01, 1.5, ("Mendoza", "mendoza", "Mza"), ("Mendoza", "Godoy Cruz")
    ),
    Province(
        "AR-T",
        "Tucumán",
        1.70,
        1.2,
        ("Tucumán", "Tucuman", "Tucu"),
        ("San Miguel de Tucumán", "Yerba Buena"),
    ),
    Province("AR-A", "Salta", 1.44, 0.0, ("Salta", "salta"), ("Salta", "Orán")),
    Province(
        "AR-E", "Entre Ríos", 1.43, 1.4, ("Entre Ríos", "Entre Rios"), ("Paraná", "Concordia")
    ),
    Province("AR-N", "Misiones", 1.28, 1.6, ("Misiones",), ("Posadas", "Oberá")),
    Province("AR-W", "Corrientes", 1.20, 1.7, ("Corrientes", "Ctes"), ("Corrientes", "Goya")),
    Province("AR-H", "Chaco", 1.14, 0.0, ("Chaco",), ("Resistencia",)),
    Province(
        "AR-G",
        "Santiago del Estero",
        1.05,
        1.9,
        ("Santiago del Estero", "Stgo del Estero", "Sgo. del Estero"),
        ("Santiago del Estero", "La Banda"),
    ),
    Province("AR-J", "San Juan", 0.82, 2.4, ("San Juan",), ("San Juan",)),
    Province("AR-Y", "Jujuy", 0.81, 2.5, ("Jujuy",), ("San Salvador de Jujuy",)),
    Province("AR-R", "Río Negro", 0.76, 2.6, ("Río Negro", "Rio Negro"), ("Bariloche", "Viedma")),
    Province("AR-Q", "Neuquén", 0.71, 0.0, ("Neuquén", "Neuquen", "Nqn"), ("Neuquén",)),
    Province("AR-P", "Formosa", 0.61, 3.3, ("Formosa",), ("Formosa",)),
    Province("AR-U", "Chubut", 0.59, 3.4, ("Chubut",), ("Comodoro Rivadavia", "Trelew")),
    Province("AR-D", "San Luis", 0.54, 3.7, ("San Luis",), ("San Luis", "Villa Mercedes")),
    Province("AR-K", "Catamarca", 0.43, 4.6, ("Catamarca",), ("San Fernando del Valle",)),
    Province("AR-F", "La Rioja", 0.38, 5.3, ("La Rioja",), ("La Rioja",)),
    Province("AR-L", "La Pampa", 0.36, 5.5, ("La Pampa",), ("Santa Rosa",)),
    Province("AR-Z", "Santa Cruz", 0.34, 5.9, ("Santa Cruz", "Sta. Cruz"), ("Río Gallegos",)),
    Province(
        "AR-V",
        "Tierra del Fuego, Antártida e Islas del Atlántico Sur",
        0.19,
        10.5,
        ("Tierra del Fuego", "TDF"),
        ("Ushuaia", "Río Grande"),
    ),
)

BY_CODE: dict[str, Province] = {p.code: p for p in PROVINCES}

#: Texts nobody can place: stored as unknown, kept as sent.
UNRECOGNISABLE: tuple[str, ...] = ("Capitl", "Cordova", "Bs Ass", "Tucumman", "mi casa")
