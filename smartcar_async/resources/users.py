"""Placeholder: filled in by the resources work."""

from __future__ import annotations

from ._base import Resource

__all__ = ["Users"]


class Users(Resource):
    """Placeholder."""
