"""`ExperimentalWarning`: calls into endpoints that no Smartcar source documents.

The SDK keeps a few such calls because integrations have reported them, but nothing
Smartcar publishes lists them, so they may not exist or may change. Each use warns once
per call site (Python's default warning filter), naming the endpoint and why.

Examples:
    >>> import warnings
    >>> warnings.filterwarnings("ignore", category=smartcar_async.ExperimentalWarning)
"""

from __future__ import annotations

import sys
import types
import warnings

__all__ = ["ExperimentalWarning", "warn_experimental"]

_PACKAGE = __name__.partition(".")[0]


class ExperimentalWarning(UserWarning):
    """The call uses an endpoint no Smartcar page or official SDK lists (see
    ``docs/api-fidelity.md``); it may be refused or change without notice."""


def warn_experimental(what: str, reason: str) -> None:
    """Warn that ``what`` is experimental, and why, at the first caller outside the SDK.

    The SDK's own frames are skipped whatever path led here (a resource method, a
    handle, a fan-out helper), so filters by module and the once-per-call-site default
    apply to the user's code.
    """
    frame = sys._getframe(1)
    level = 2  # warnings.warn's stacklevel for this function's caller
    while frame.f_back is not None and _in_sdk(frame):
        frame = frame.f_back
        level += 1
    warnings.warn(f"{what} is experimental: {reason}", ExperimentalWarning, stacklevel=level)


def _in_sdk(frame: types.FrameType) -> bool:
    module: str = frame.f_globals.get("__name__", "")
    return module.partition(".")[0] == _PACKAGE
