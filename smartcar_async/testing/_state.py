"""The emulator's world: users, vehicles, connections, webhooks, subscriptions, tokens.

Everything here is plain data plus the indexes the hot path needs (the ``sc-user-id``
check is one dict lookup). Nothing here knows about HTTP; `_routes` reads and changes
this state, `_render` turns it into JSON.
"""

from __future__ import annotations

import datetime as _dt
import random
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from .._models import own_fields_first

__all__ = [
    "Connection",
    "IdSource",
    "SignalState",
    "State",
    "Subscription",
    "TokenStore",
    "User",
    "Vehicle",
    "VehicleFacts",
    "Webhook",
    "iso",
]


def iso(epoch_seconds: float) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, as the API writes ``createdAt``."""
    moment = _dt.datetime.fromtimestamp(epoch_seconds, _dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class IdSource:
    """Ids from a seeded generator, so the same seed gives the same ids every run."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def hex(self, prefix: str, nbytes: int = 8) -> str:
        return f"{prefix}{self._rng.getrandbits(nbytes * 8):0{nbytes * 2}x}"


@attrs.define(eq=False)
class SignalState:
    """One signal's current reading: a body, or a status with an error."""

    body: dict[str, Any] | None
    retrieved_at: int
    oem_updated_at: int
    status: str = "SUCCESS"
    error: dict[str, Any] | None = None


@attrs.define(kw_only=True)
class VehicleFacts:
    """What a vehicle is, declared once for the emulator's state (`Vehicle`) and for the
    `FleetEntry` a test gets."""

    make: str
    model: str
    year: int
    powertrain_type: str
    mode: str
    vin: str

    def facts(self) -> dict[str, Any]:
        """These fields by name, for building another record of the same vehicle."""
        return {field.name: getattr(self, field.name) for field in attrs.fields(VehicleFacts)}


@attrs.define(eq=False, field_transformer=own_fields_first)
class Vehicle(VehicleFacts):
    """A vehicle and its signals.

    Signals are generated on first use (a fleet of thousands costs nothing until read)
    and their JSON is cached per signal and per collection; every change goes through
    `State.put_signal`, which drops exactly the caches it makes stale.
    """

    id: str
    created_at: float
    # Seeds this vehicle's signal generator, so lazily generated values do not depend
    # on which vehicles were read first.
    index: int
    asleep: bool = attrs.field(init=False, default=False)
    # None: follow the emulator-wide setting; a number: this vehicle's own delay (0 turns
    # long-running off for it).
    long_running_delay: float | None = attrs.field(init=False, default=None)
    unsupported: set[str] = attrs.field(init=False, factory=set)
    schedules: dict[str, dict[str, Any]] = attrs.field(init=False, factory=dict)
    signals_or_none: dict[str, SignalState] | None = attrs.field(
        init=False, default=None, repr=False
    )
    signal_json: dict[str, bytes] = attrs.field(init=False, factory=dict, repr=False)
    collection_json: bytes | None = attrs.field(init=False, default=None, repr=False)
    vehicle_json: bytes | None = attrs.field(init=False, default=None, repr=False)

    @property
    def is_electric(self) -> bool:
        """Has a traction battery that charges from a plug (BEV or PHEV)."""
        return self.powertrain_type in ("BEV", "PHEV")

    @property
    def has_engine(self) -> bool:
        """Has an internal combustion engine (ICE, HEV or PHEV)."""
        return self.powertrain_type != "BEV"

    def attributes(self) -> dict[str, Any]:
        return {
            "make": self.make,
            "model": self.model,
            "year": self.year,
            "mode": self.mode,
            "powertrainType": self.powertrain_type,
        }


@attrs.define(eq=False)
class User:
    id: str
    external_id: str | None = None


@attrs.define(eq=False)
class _Record:
    """What connections and subscriptions share: an id, and when they were made and
    last changed (``updated_at`` starts as ``created_at``)."""

    id: str
    created_at: float
    updated_at: float = attrs.field(init=False)

    @updated_at.default
    def _updated_at(self) -> float:
        return self.created_at


@attrs.define(eq=False)
class Connection(_Record):
    user_id: str
    vehicle_id: str
    permissions: tuple[str, ...]


@attrs.define(eq=False)
class Webhook:
    id: str
    name: str
    callback_uri: str
    triggers: tuple[str, ...]
    data: tuple[str, ...]
    created_at: float
    is_enabled: bool = attrs.field(kw_only=True, default=True)
    error_callback_uri: str | None = attrs.field(kw_only=True, default=None)
    auto_subscribe: bool = attrs.field(kw_only=True, default=False)


@attrs.define(eq=False)
class Subscription(_Record):
    webhook_id: str
    vehicle_id: str
    user_id: str


class TokenStore:
    """Issued access tokens and their expiry on the emulator's clock."""

    def __init__(self, ids: IdSource) -> None:
        self._ids = ids
        self._expiry: dict[str, float] = {}
        self._sweep_at = 1024

    def issue(self, now: float, lifetime: float) -> str:
        token = self._ids.hex("emu_at_", 24)
        self._expiry[token] = now + lifetime
        if len(self._expiry) >= self._sweep_at:
            # Long runs request many tokens; forget the expired ones now and then so
            # the table stays as small as the live set.
            self._expiry = {t: e for t, e in self._expiry.items() if e > now}
            self._sweep_at = max(1024, 2 * len(self._expiry))
        return token

    def check(self, token: str, now: float) -> str | None:
        """None if valid, else why not: ``"expired"`` or ``"invalid"``."""
        expiry = self._expiry.get(token)
        if expiry is None:
            return "invalid"
        if now >= expiry:
            return "expired"
        return None

    def revoke_all(self) -> int:
        count = len(self._expiry)
        self._expiry.clear()
        return count

    def __len__(self) -> int:
        return len(self._expiry)


SignalFactory = Callable[[Vehicle], dict[str, SignalState]]


class State:
    """All entities plus the indexes the routes use."""

    def __init__(self, ids: IdSource, signal_factory: SignalFactory) -> None:
        self.ids = ids
        self._signal_factory = signal_factory
        self.vehicles: dict[str, Vehicle] = {}
        self.users: dict[str, User] = {}
        # Insertion order is creation order: the list endpoint's "sorted by connection
        # date" comes for free.
        self.connections: dict[str, Connection] = {}
        self.pair_index: dict[tuple[str, str], str] = {}
        self.by_vehicle: dict[str, dict[str, None]] = {}
        self.by_user: dict[str, dict[str, None]] = {}
        self.webhooks: dict[str, Webhook] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.subscription_index: dict[tuple[str, str], str] = {}

    # -- vehicles and signals -------------------------------------------------------

    def signals(self, vehicle: Vehicle) -> dict[str, SignalState]:
        signals = vehicle.signals_or_none
        if signals is None:
            signals = vehicle.signals_or_none = self._signal_factory(vehicle)
        return signals

    def put_signal(self, vehicle: Vehicle, code: str, signal: SignalState | None) -> None:
        """Set (or with None remove) one signal and drop the JSON it invalidates."""
        signals = self.signals(vehicle)
        if signal is None:
            signals.pop(code, None)
        else:
            signals[code] = signal
        vehicle.signal_json.pop(code, None)
        vehicle.collection_json = None

    def add_vehicle(self, vehicle: Vehicle) -> None:
        if vehicle.id in self.vehicles:
            raise ValueError(f"vehicle {vehicle.id!r} exists already")
        self.vehicles[vehicle.id] = vehicle
        self.by_vehicle[vehicle.id] = {}

    def remove_vehicle(self, vehicle_id: str) -> None:
        for connection_id in list(self.by_vehicle.get(vehicle_id, ())):
            self.remove_connection(connection_id)
        self.by_vehicle.pop(vehicle_id, None)
        del self.vehicles[vehicle_id]

    # -- users and connections ------------------------------------------------------

    def add_user(self, user: User) -> None:
        self.users[user.id] = user
        self.by_user.setdefault(user.id, {})

    def add_connection(self, connection: Connection) -> None:
        pair = (connection.vehicle_id, connection.user_id)
        if pair in self.pair_index:
            raise ValueError(
                f"user {connection.user_id!r} is connected to {connection.vehicle_id!r} already"
            )
        self.connections[connection.id] = connection
        self.pair_index[pair] = connection.id
        self.by_vehicle[connection.vehicle_id][connection.id] = None
        self.by_user[connection.user_id][connection.id] = None

    def remove_connection(self, connection_id: str) -> Connection:
        connection = self.connections.pop(connection_id)
        del self.pair_index[(connection.vehicle_id, connection.user_id)]
        self.by_vehicle[connection.vehicle_id].pop(connection_id, None)
        self.by_user[connection.user_id].pop(connection_id, None)
        # A disconnected vehicle stops producing data for that user's subscriptions.
        for subscription in list(self.subscriptions.values()):
            if (subscription.vehicle_id, subscription.user_id) == (
                connection.vehicle_id,
                connection.user_id,
            ):
                self.remove_subscription(subscription.id)
        return connection

    def remove_user(self, user_id: str) -> None:
        for connection_id in list(self.by_user.get(user_id, ())):
            self.remove_connection(connection_id)
        self.by_user.pop(user_id, None)
        del self.users[user_id]

    def connected_user(self, vehicle_id: str) -> str | None:
        """The first user connected to a vehicle, if any."""
        for connection_id in self.by_vehicle.get(vehicle_id, ()):
            return self.connections[connection_id].user_id
        return None

    # -- webhooks and subscriptions -------------------------------------------------

    def add_webhook(self, webhook: Webhook) -> None:
        self.webhooks[webhook.id] = webhook

    def add_subscription(self, subscription: Subscription) -> None:
        key = (subscription.webhook_id, subscription.vehicle_id)
        if key in self.subscription_index:
            raise ValueError(
                f"vehicle {subscription.vehicle_id!r} is subscribed to "
                f"{subscription.webhook_id!r} already"
            )
        self.subscriptions[subscription.id] = subscription
        self.subscription_index[key] = subscription.id

    def remove_subscription(self, subscription_id: str) -> None:
        subscription = self.subscriptions.pop(subscription_id)
        del self.subscription_index[(subscription.webhook_id, subscription.vehicle_id)]

    def subscriptions_of(self, vehicle_id: str) -> Iterable[Subscription]:
        return (s for s in self.subscriptions.values() if s.vehicle_id == vehicle_id)
