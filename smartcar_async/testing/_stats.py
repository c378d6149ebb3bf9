"""Counters for assertions: what the emulator saw and what it did."""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs

__all__ = ["CommandRecord", "EmulatorStats"]


@attrs.frozen
class CommandRecord:
    """One command the emulated vehicle executed (state changed, counted once).

    Attributes:
        execution_id: the ``exec_...`` id the response carried.
        vehicle_id: the vehicle that acted.
        user_id: the ``sc-user-id`` the request named.
        command_type: ``security-lock``, ``charge-set-limit``, ``charge-schedule-daily``...
        parameters: the validated parameters.
        request_id: the ``SC-Request-Id`` of the response.
        at: the emulator clock reading when it executed.
    """

    execution_id: str
    vehicle_id: str
    user_id: str
    command_type: str
    parameters: dict[str, Any]
    request_id: str
    at: float


class EmulatorStats:
    """What the emulator counted since it was built (or since `reset`).

    Attributes:
        token_requests: ``POST /oauth2/token`` calls, whatever their outcome.
        tokens_issued: tokens handed out (successful token calls plus `issue_token`).
        requests: requests per normalised route, e.g. ``"GET /vehicles/{id}/signals"``
            (unmatched paths count as ``"UNKNOWN"``).
        statuses: responses per HTTP status (dropped connections count as ``0``).
        route_statuses: responses per ``(route, status)``.
        command_executions: commands executed per vehicle id.
        commands: commands executed per ``(vehicle_id, command_type)``.
        faults: faults injected per kind (``status``, ``rate_limit``, ``latency``,
            ``malformed_json``, ``drop``, ``revoke_tokens``); model rate limiting counts
            as ``rate_limit`` too.
        webhook_attempts: webhook delivery attempts per event type.

    Examples:
        >>> assert emulator.stats.requests["GET /vehicles/{id}/signals"] == 3
        >>> assert max(emulator.stats.commands.values()) == 1   # nothing ran twice
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        self.token_requests = 0
        self.tokens_issued = 0
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.route_statuses: Counter[tuple[str, int]] = Counter()
        self.command_executions: Counter[str] = Counter()
        self.commands: Counter[tuple[str, str]] = Counter()
        self.faults: Counter[str] = Counter()
        self.webhook_attempts: Counter[str] = Counter()

    @property
    def total_requests(self) -> int:
        """Every request seen, token requests included."""
        return sum(self.requests.values())

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly copy (tuple keys joined with a space)."""
        return {
            "token_requests": self.token_requests,
            "tokens_issued": self.tokens_issued,
            "requests": dict(self.requests),
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "route_statuses": {f"{r} {s}": v for (r, s), v in self.route_statuses.items()},
            "command_executions": dict(self.command_executions),
            "commands": {f"{v} {c}": n for (v, c), n in self.commands.items()},
            "faults": dict(self.faults),
            "webhook_attempts": dict(self.webhook_attempts),
        }

    def __repr__(self) -> str:
        return (
            f"EmulatorStats(requests={self.total_requests}, "
            f"token_requests={self.token_requests}, "
            f"commands={sum(self.command_executions.values())}, "
            f"faults={sum(self.faults.values())})"
        )
