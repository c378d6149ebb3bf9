"""Placeholder: filled in by the resources work."""

from __future__ import annotations

from ._base import Resource

__all__ = ["Subscriptions", "Webhooks"]


class Webhooks(Resource):
    """Placeholder."""


class Subscriptions(Resource):
    """Placeholder."""
