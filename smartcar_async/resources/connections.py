"""Placeholder: filled in by the resources work."""

from __future__ import annotations

from ._base import Resource

__all__ = ["Connections"]


class Connections(Resource):
    """Placeholder."""
