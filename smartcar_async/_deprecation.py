"""`DeprecatedAlias`: an old attribute name that keeps working, and says which to use.

Examples:
    >>> class Client:
    ...     webhooks = DeprecatedAlias("webhook_endpoints", "the old name collided")
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

if TYPE_CHECKING:  # for type checkers only: at run time the alias warns by itself
    from typing_extensions import deprecated

__all__ = ["DeprecatedAlias"]

T = TypeVar("T")


class DeprecatedAlias(Generic[T]):
    """A class attribute that reads another attribute, warning `DeprecationWarning`
    the first time each instance reads it.

    After the first read the value is stored on the instance under the old name, so
    later reads are plain attribute reads: no second warning, no cost. ``T`` is the type
    of the attribute it forwards to (declare it: ``DeprecatedAlias[WebhookEndpoints]``);
    type checkers that know PEP 702 flag each read (mypy with
    ``--enable-error-code deprecated``, pyright by default).
    """

    def __init__(self, new_name: str, reason: str) -> None:
        self._new_name = new_name
        self._reason = reason
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type) -> DeprecatedAlias[T]: ...

    if TYPE_CHECKING:  # editors and checkers flag every read through the alias

        @overload
        @deprecated("a deprecated alias: use the attribute its warning names")
        def __get__(self, instance: object, owner: type) -> T: ...

    def __get__(self, instance: object | None, owner: type) -> Any:
        if instance is None:
            return self
        warnings.warn(
            f"{owner.__name__}.{self._name} is deprecated, use .{self._new_name} "
            f"instead: {self._reason}",
            DeprecationWarning,
            stacklevel=2,
        )
        value = getattr(instance, self._new_name)
        vars(instance)[self._name] = value
        return value
