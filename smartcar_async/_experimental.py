"""`ExperimentalWarning`: calls into endpoints that no Smartcar source documents.

The SDK keeps a few such calls because integrations have reported them, but nothing
Smartcar publishes lists them, so they may not exist or may change. Each use warns once
per call site (Python's default warning filter), naming the endpoint and why.

Examples:
    >>> import warnings
    >>> warnings.filterwarnings("ignore", category=smartcar_async.ExperimentalWarning)
"""

from __future__ import annotations

import warnings

__all__ = ["ExperimentalWarning", "warn_experimental"]


class ExperimentalWarning(UserWarning):
    """The call uses an endpoint no Smartcar page or official SDK lists (see
    ``docs/api-fidelity.md``); it may be refused or change without notice."""


def warn_experimental(what: str, reason: str, *, stacklevel: int = 3) -> None:
    """Warn that ``what`` is experimental, and why."""
    warnings.warn(f"{what} is experimental: {reason}", ExperimentalWarning, stacklevel=stacklevel)
