"""The ``smartcar_async`` logger, switched on by ``SMARTCAR_LOG=debug|info``.

Nothing logged here ever holds the client secret, a token or an ``Authorization``
header: log calls pass method, path, status, request id, attempt and delay only.
"""

from __future__ import annotations

import logging
import os

from ._config import ENV_LOG

__all__ = ["logger", "setup_from_environment"]

logger = logging.getLogger("smartcar_async")

_configured = False


def setup_from_environment() -> None:
    """Attach a stderr handler at the level ``SMARTCAR_LOG`` names (once per process)."""
    global _configured
    if _configured:
        return
    _configured = True
    level = os.environ.get(ENV_LOG, "").strip().lower()
    if level not in ("debug", "info"):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("[%(asctime)s %(levelname)s %(name)s] %(message)s", "%H:%M:%S")
    )
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if level == "debug" else logging.INFO)
