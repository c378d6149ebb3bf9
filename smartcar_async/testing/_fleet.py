"""The seeded fleet: makes, models, users and connections that look like a real app's.

The mix leans electric, as Smartcar's customer base does: about two thirds BEV, the rest
PHEV, HEV and ICE. Everything comes from one `random.Random(seed)`, so the same seed
builds the same fleet, ids included.
"""

from __future__ import annotations

import random

import attrs

from .._models import own_fields_first
from ._state import Connection, IdSource, State, User, Vehicle, VehicleFacts

__all__ = [
    "MODELS",
    "PERMISSIONS",
    "FleetEntry",
    "build_fleet",
    "make_vin",
    "permissions_for",
]


@attrs.frozen(kw_only=True, field_transformer=own_fields_first)
class FleetEntry(VehicleFacts):
    """One connected vehicle as tests need it: ids plus what the API says about it.

    Attributes:
        vehicle_id: the vehicle id (paths).
        user_id: the user connected to it (the ``sc-user-id`` header).
        connection_id: that connection's id.
        make, model, year, powertrain_type, mode: the vehicle's attributes.
        vin: its VIN (also the ``vehicleidentification-vin`` signal).
    """

    vehicle_id: str
    user_id: str
    connection_id: str


# (make, model, powertrain, first year, last year, weight)
MODELS: tuple[tuple[str, str, str, int, int, int], ...] = (
    ("Tesla", "Model 3", "BEV", 2018, 2025, 14),
    ("Tesla", "Model Y", "BEV", 2020, 2025, 16),
    ("Tesla", "Model S", "BEV", 2018, 2025, 3),
    ("Tesla", "Model X", "BEV", 2018, 2025, 2),
    ("Ford", "Mustang Mach-E", "BEV", 2021, 2025, 6),
    ("Ford", "F-150 Lightning", "BEV", 2022, 2025, 4),
    ("Ford", "F-150", "ICE", 2018, 2025, 4),
    ("Ford", "Escape", "PHEV", 2020, 2024, 2),
    ("Chevrolet", "Bolt EV", "BEV", 2018, 2023, 5),
    ("Chevrolet", "Equinox EV", "BEV", 2024, 2025, 3),
    ("Chevrolet", "Silverado", "ICE", 2019, 2025, 2),
    ("Volkswagen", "ID.4", "BEV", 2021, 2025, 6),
    ("Volkswagen", "ID. Buzz", "BEV", 2025, 2025, 1),
    ("Volkswagen", "Tiguan", "ICE", 2018, 2024, 2),
    ("Hyundai", "Ioniq 5", "BEV", 2022, 2025, 5),
    ("Hyundai", "Tucson", "HEV", 2022, 2025, 2),
    ("Hyundai", "Tucson", "PHEV", 2022, 2025, 1),
    ("Kia", "EV6", "BEV", 2022, 2025, 4),
    ("Kia", "Niro", "PHEV", 2018, 2024, 1),
    ("Kia", "Sorento", "HEV", 2021, 2025, 1),
    ("BMW", "i4", "BEV", 2022, 2025, 3),
    ("BMW", "iX", "BEV", 2022, 2025, 2),
    ("BMW", "X5 xDrive50e", "PHEV", 2024, 2025, 1),
    ("BMW", "330e", "PHEV", 2019, 2024, 1),
    ("Mercedes-Benz", "EQS", "BEV", 2022, 2025, 1),
    ("Mercedes-Benz", "GLC 350e", "PHEV", 2023, 2025, 1),
    ("Audi", "Q4 e-tron", "BEV", 2022, 2025, 2),
    ("Audi", "e-tron GT", "BEV", 2022, 2025, 1),
    ("Nissan", "Leaf", "BEV", 2018, 2024, 4),
    ("Nissan", "Ariya", "BEV", 2023, 2025, 2),
    ("Nissan", "Rogue", "ICE", 2018, 2025, 2),
    ("Toyota", "bZ4X", "BEV", 2023, 2025, 2),
    ("Toyota", "RAV4", "HEV", 2019, 2025, 3),
    ("Toyota", "RAV4 Prime", "PHEV", 2021, 2025, 2),
    ("Toyota", "Camry", "ICE", 2018, 2024, 2),
    ("Volvo", "XC40 Recharge", "BEV", 2021, 2024, 2),
    ("Volvo", "XC60 Recharge", "PHEV", 2020, 2025, 2),
    ("Volvo", "EX30", "BEV", 2025, 2025, 1),
    ("Polestar", "2", "BEV", 2021, 2025, 2),
    ("Rivian", "R1T", "BEV", 2022, 2025, 2),
    ("Rivian", "R1S", "BEV", 2022, 2025, 2),
    ("Jeep", "Grand Cherokee 4xe", "PHEV", 2022, 2025, 1),
    ("Jeep", "Wrangler 4xe", "PHEV", 2021, 2025, 1),
    ("Honda", "Prologue", "BEV", 2024, 2025, 1),
    ("Honda", "CR-V", "HEV", 2020, 2025, 2),
    ("Cadillac", "Lyriq", "BEV", 2023, 2025, 1),
    ("Porsche", "Taycan", "BEV", 2020, 2025, 1),
)
_WEIGHTS = [entry[5] for entry in MODELS]

# World manufacturer identifiers, so VINs start like the make's do.
_WMI = {
    "Tesla": "5YJ",
    "Ford": "1FM",
    "Chevrolet": "1G1",
    "Volkswagen": "WVW",
    "Hyundai": "KM8",
    "Kia": "KNA",
    "BMW": "WBA",
    "Mercedes-Benz": "W1K",
    "Audi": "WAU",
    "Nissan": "1N4",
    "Toyota": "JTM",
    "Volvo": "YV1",
    "Polestar": "LPS",
    "Rivian": "7FC",
    "Jeep": "1C4",
    "Honda": "5J6",
    "Cadillac": "1GY",
    "Porsche": "WP0",
}
_VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q
_YEAR_CODES = "JKLMNPRSTVWXY123456789"  # 2018 onward

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "common": (
        "read_vehicle_info",
        "read_vin",
        "read_location",
        "read_odometer",
        "read_security",
        "read_tires",
        "read_speedometer",
        "read_climate",
        "read_compass",
        "control_security",
        "control_navigation",
    ),
    "electric": ("read_battery", "read_charge", "control_charge"),
    "engine": ("read_fuel", "read_engine_oil"),
}


def permissions_for(powertrain_type: str) -> tuple[str, ...]:
    """The permissions a full connection of this powertrain grants."""
    granted = PERMISSIONS["common"]
    if powertrain_type in ("BEV", "PHEV"):
        granted += PERMISSIONS["electric"]
    if powertrain_type != "BEV":
        granted += PERMISSIONS["engine"]
    return granted


def make_vin(rng: random.Random, make: str, year: int) -> str:
    """A 17-character VIN with the make's WMI and the model-year character."""
    wmi = _WMI.get(make, "1XX")
    body = "".join(rng.choice(_VIN_CHARS) for _ in range(5))
    check = rng.choice("0123456789X")
    year_code = _YEAR_CODES[(year - 2018) % len(_YEAR_CODES)]
    serial = "".join(rng.choice(_VIN_CHARS) for _ in range(7))
    return f"{wmi}{body}{check}{year_code}{serial}"


def build_fleet(
    state: State,
    rng: random.Random,
    ids: IdSource,
    *,
    live: int,
    simulated: int,
    epoch: float,
) -> None:
    """Add ``live + simulated`` vehicles, their users and one connection each.

    Users own one to three vehicles (mostly one); about half carry an external id, as
    apps that map Smartcar users to their own customers do. Connections were made over
    the year before ``epoch``, in order.
    """
    total = live + simulated
    year_seconds = 365 * 24 * 3600.0
    offsets = sorted(rng.uniform(0, year_seconds) for _ in range(total))
    user: User | None = None
    remaining_for_user = 0
    for index in range(total):
        if remaining_for_user == 0:
            external = f"customer-{len(state.users) + 1:06d}" if rng.random() < 0.5 else None
            user = User(ids.uuid(), external)
            state.add_user(user)
            remaining_for_user = rng.choices((1, 2, 3), weights=(80, 16, 4))[0]
        assert user is not None
        remaining_for_user -= 1
        make, model, powertrain, first, last, _ = rng.choices(MODELS, weights=_WEIGHTS)[0]
        year = rng.randint(first, last)
        created_at = epoch - year_seconds + offsets[index]
        vehicle = Vehicle(
            id=ids.uuid(),
            make=make,
            model=model,
            year=year,
            powertrain_type=powertrain,
            mode="live" if index < live else "simulated",
            vin=make_vin(rng, make, year),
            created_at=created_at,
            index=index,
        )
        state.add_vehicle(vehicle)
        state.add_connection(
            Connection(ids.uuid(), created_at, user.id, vehicle.id, permissions_for(powertrain))
        )
