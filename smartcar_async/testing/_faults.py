"""Fault injection by rule, and the optional rate-limit model.

A `Fault` says *what* goes wrong; `FaultSet.add` says *where and how often* (route
pattern, vehicle, probability, count), and returns the `FaultRule` so a test can read
how often it fired or remove it.
"""

from __future__ import annotations

import fnmatch
import math
import random
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal, TypedDict

import attrs

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "Fault",
    "FaultKind",
    "FaultPlacement",
    "FaultRule",
    "FaultSet",
    "RateLimiter",
    "RateLimits",
]

FaultKind = Literal["status", "rate_limit", "latency", "malformed_json", "drop", "revoke_tokens"]

# Kinds that decide the answer; the others (latency, revocation) only add to it.
TERMINAL: frozenset[str] = frozenset({"status", "rate_limit", "malformed_json", "drop"})


class _StatusFields(TypedDict, total=False):
    """The `Fault` fields `Fault.status` takes under their own names."""

    detail: str | None
    retry_after: float | None
    body: bytes | None
    content_type: str
    after_processing: bool


@attrs.frozen(kw_only=True)
class Fault:
    """What goes wrong. Build one with a class method, then `SmartcarEmulator.add_fault` it.

    A fault applies *before* the request is handled unless ``after_processing=True``: then
    the request is handled first (a command executes, state changes) and only its answer
    is replaced, which is how "the vehicle acted but the response was lost" is tested.

    Examples:
        >>> emulator.add_fault(Fault.status(503), route="GET /vehicles/{id}/signals", times=2)
        >>> emulator.add_fault(Fault.rate_limit(retry_after=3, scope="vehicle"))
        >>> emulator.add_fault(Fault.drop(after_processing=True), route="POST */commands/*")
    """

    kind: FaultKind
    status_code: int = 0
    error_type: str | None = None
    error_code: str | None = None
    detail: str | None = None
    retry_after: float | None = None
    seconds: float = 0.0
    body: bytes | None = None
    content_type: str = "application/json"
    after_processing: bool = False

    @classmethod
    def status(
        cls,
        status: int,
        *,
        type: str | None = None,
        code: str | None = None,
        **fields: Unpack[_StatusFields],
    ) -> Fault:
        """Answer ``status`` with a v3 error body (or exactly ``body`` when given).

        ``type``/``code`` default to the ones the status usually carries (500 ->
        ``SERVER``/``INTERNAL``, 502 -> ``UPSTREAM``/``UNKNOWN_ISSUE``...). On the token
        route the body is OAuth-shaped instead. The other keywords (``detail``,
        ``retry_after``, ``body``, ``content_type``, ``after_processing``) set the
        fields of the same names. ``body`` lets a test send anything, e.g. a ``200``
        whose body is ``{"type":"VEHICLE_STATE","code":"UNREACHABLE"}``.
        """
        return cls(kind="status", status_code=status, error_type=type, error_code=code, **fields)

    @classmethod
    def rate_limit(
        cls, *, retry_after: float = 1.0, scope: Literal["app", "vehicle"] = "app"
    ) -> Fault:
        """429 with ``Retry-After``: ``RATE_LIMIT:SMARTCAR_API`` (app) or ``RATE_LIMIT:VEHICLE``.

        ``retry_after`` goes out in whole seconds, rounded up (0.4 s is ``Retry-After: 1``).
        """
        if scope not in ("app", "vehicle"):
            raise ValueError("scope must be 'app' or 'vehicle'")
        code = "SMARTCAR_API" if scope == "app" else "VEHICLE"
        return cls(kind="rate_limit", status_code=429, error_code=code, retry_after=retry_after)

    @classmethod
    def latency(cls, seconds: float, *, after_processing: bool = False) -> Fault:
        """Delay the answer by ``seconds``, awaited on the emulator's clock."""
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        return cls(kind="latency", seconds=seconds, after_processing=after_processing)

    @classmethod
    def malformed_json(cls, *, after_processing: bool = False) -> Fault:
        """A ``200`` whose JSON is cut off (after processing: the real answer, truncated)."""
        return cls(kind="malformed_json", status_code=200, after_processing=after_processing)

    @classmethod
    def drop(cls, *, after_processing: bool = False) -> Fault:
        """Break the connection without an answer.

        In-process the transport raises `httpx.RemoteProtocolError`; over a socket the
        server aborts the connection.
        """
        return cls(kind="drop", after_processing=after_processing)

    @classmethod
    def revoke_tokens(cls) -> Fault:
        """Revoke every issued token, then handle the request (which now gets a 401)."""
        return cls(kind="revoke_tokens")


class FaultPlacement(TypedDict, total=False):
    """Where and how often a fault fires: the keywords of `SmartcarEmulator.add_fault`
    and `FaultSet.add`, declared once. Each is described under `FaultRule`.

    Examples:
        >>> twice: FaultPlacement = {"route": "GET /vehicles/{id}/signals", "times": 2}
        >>> emulator.add_fault(Fault.status(503), **twice)
    """

    route: str | None
    vehicle_id: str | None
    probability: float
    times: int | None
    skip: int


def _route_pattern(rule: FaultRule) -> re.Pattern[str] | None:
    """The compiled glob of ``rule.route`` (a route without a method means any method)."""
    route = rule.route
    if route is None:
        return None
    glob = route if " " in route or route.startswith("*") else f"* {route}"
    return re.compile(fnmatch.translate(glob))


def _check_probability(_rule: FaultRule, _field: object, probability: float) -> None:
    if not 0.0 <= probability <= 1.0:
        raise ValueError("probability must be within [0, 1]")


def _check_times(_rule: FaultRule, _field: object, times: int | None) -> None:
    if times is not None and times < 0:
        raise ValueError("times must be >= 0")


@attrs.define(eq=False)
class FaultRule:
    """A `Fault` bound to where and how often it fires.

    Attributes:
        fault: what goes wrong.
        route: glob over normalised route names (``"GET /vehicles/{id}/signals"``,
            ``"POST */commands/*"``; no method means any method); None for every route.
        vehicle_id: only requests for this vehicle, if set.
        probability: chance to fire on a matching request (seeded, so repeatable).
        times: how many more times it may fire; None for no limit.
        skip: matching requests to let through before it starts firing.
        seen: matching requests so far.
        fired: times it fired so far.
    """

    fault: Fault
    route: str | None = None
    vehicle_id: str | None = None
    probability: float = attrs.field(default=1.0, validator=_check_probability)
    times: int | None = attrs.field(default=None, validator=_check_times)
    skip: int = 0
    seen: int = attrs.field(init=False, default=0)
    fired: int = attrs.field(init=False, default=0)
    _owner: FaultSet | None = attrs.field(default=None, repr=False, kw_only=True)
    _pattern: re.Pattern[str] | None = attrs.field(
        init=False, default=attrs.Factory(_route_pattern, takes_self=True), repr=False
    )

    def matches(self, route: str, vehicle_id: str | None) -> bool:
        if self._pattern is not None and self._pattern.match(route) is None:
            return False
        return self.vehicle_id is None or self.vehicle_id == vehicle_id

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def remove(self) -> None:
        """Stop this rule from firing again."""
        if self._owner is not None:
            self._owner.remove(self)


class FaultSet:
    """The emulator's fault rules, evaluated in the order they were added."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._rules: list[FaultRule] = []

    def add(self, fault: Fault, **placement: Unpack[FaultPlacement]) -> FaultRule:
        """Add a rule; see `FaultRule` for the parameters.

        Raises:
            ValueError: ``probability`` is outside [0, 1], or ``times`` is negative.

        Examples:
            >>> rule = emulator.faults.add(Fault.status(500), route="/connections", times=1)
            >>> rule.fired
            0
        """
        rule = FaultRule(fault, **placement, owner=self)
        self._rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        """Remove one rule (no error if it is gone already)."""
        if rule in self._rules:
            self._rules.remove(rule)

    def clear(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    def __iter__(self) -> Iterator[FaultRule]:
        return iter(list(self._rules))

    def __len__(self) -> int:
        return len(self._rules)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def select(self, route: str, vehicle_id: str | None) -> list[Fault]:
        """The faults that fire for this request, in rule order.

        At most one deciding fault per phase fires. A rule that cannot apply (shadowed by
        an earlier deciding fault, or an after-processing rule when the request never
        gets processed) neither counts the request nor spends its ``times``.
        """
        chosen: list[Fault] = []
        for after in (False, True):
            decided = False
            for rule in list(self._rules):
                fault = rule.fault
                if fault.after_processing is not after:
                    continue
                terminal = fault.kind in TERMINAL
                if terminal and decided:
                    continue
                if rule.exhausted or not rule.matches(route, vehicle_id):
                    continue
                rule.seen += 1
                if rule.seen <= rule.skip:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                chosen.append(fault)
                decided = decided or terminal
            if decided and not after:
                break  # the answer is decided before processing: nothing runs after
        return chosen


@attrs.frozen(kw_only=True)
class RateLimits:
    """The rate-limit model (off unless given to the emulator).

    The defaults are Smartcar's documented ones: a bucket of 120 requests per
    application that refills 2 per minute, answered over its limit with a 429
    ``RATE_LIMIT:SMARTCAR_API`` *without* ``Retry-After`` (the docs give one only for
    the per-vehicle limit and ask for exponential backoff on the app-wide one).

    Attributes:
        app_capacity: size of the application's token bucket (``RATE_LIMIT:SMARTCAR_API``).
        app_refill_per_second: bucket refill rate; the documented default is 2 per minute.
        app_retry_after: send ``Retry-After`` (whole seconds until a token is back) on
            the app-wide 429 too; off by default, as documented.
        vehicle_interval: minimum seconds between requests for one vehicle
            (``RATE_LIMIT:VEHICLE``, always with ``Retry-After``); None for no
            per-vehicle throttle.

    Examples:
        >>> SmartcarEmulator(rate_limits=RateLimits())          # 120, 2 per minute
        >>> SmartcarEmulator(rate_limits=RateLimits(app_capacity=10, vehicle_interval=5))
        >>> RateLimits().scaled(60)   # the same bucket, refilling 60 times faster
    """

    app_capacity: int = 120
    app_refill_per_second: float = 2 / 60
    app_retry_after: bool = False
    vehicle_interval: float | None = None

    def scaled(self, speed: float) -> RateLimits:
        """The same limits with time running ``speed`` times faster (for demos)."""
        if speed <= 0:
            raise ValueError("speed must be > 0")
        return attrs.evolve(
            self,
            app_refill_per_second=self.app_refill_per_second * speed,
            vehicle_interval=None
            if self.vehicle_interval is None
            else self.vehicle_interval / speed,
        )


class RateLimiter:
    """Applies `RateLimits` on the emulator's clock. Refused requests cost nothing.

    Attributes:
        admitted: requests the app-wide bucket let through.
        refused: requests it refused (``RATE_LIMIT:SMARTCAR_API``).
        first_admitted_at / last_admitted_at: when the first and the latest admitted
            request arrived, on the emulator's clock (None before the first).
    """

    def __init__(self, limits: RateLimits, now: float) -> None:
        self.limits = limits
        self._tokens = float(limits.app_capacity)
        self._refilled_at = now
        self._last_seen: dict[str, float] = {}
        self.admitted = 0
        self.refused = 0
        self.first_admitted_at: float | None = None
        self.last_admitted_at: float | None = None

    def check(self, now: float, vehicle_id: str | None) -> tuple[str, int | None] | None:
        """None to let the request through, else (code, Retry-After seconds or None)."""
        limits = self.limits
        rate = limits.app_refill_per_second
        self._tokens = min(
            float(limits.app_capacity), self._tokens + (now - self._refilled_at) * rate
        )
        self._refilled_at = now
        if self._tokens < 1.0:
            self.refused += 1
            if not limits.app_retry_after:
                return "SMARTCAR_API", None
            wait = (1.0 - self._tokens) / rate if rate > 0 else 3600.0
            return "SMARTCAR_API", max(1, math.ceil(wait))
        if vehicle_id is not None and limits.vehicle_interval is not None:
            last = self._last_seen.get(vehicle_id)
            if last is not None and now - last < limits.vehicle_interval:
                return "VEHICLE", max(1, math.ceil(limits.vehicle_interval - (now - last)))
            self._last_seen[vehicle_id] = now
        self._tokens -= 1.0
        self.admitted += 1
        if self.first_admitted_at is None:
            self.first_admitted_at = now
        self.last_admitted_at = now
        return None
