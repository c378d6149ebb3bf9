"""The public surface: what `smartcar_async` exports, and how it reads."""

from __future__ import annotations

import inspect

import pytest

import smartcar_async as sc


@pytest.mark.parametrize("name", sc.__all__)
def test_every_public_name_exists_and_is_documented(name: str) -> None:
    obj = getattr(sc, name)
    if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.ismodule(obj):
        assert inspect.getdoc(obj), f"{name} has no docstring"


@pytest.mark.parametrize("name", [n for n in sc.__all__ if inspect.isclass(getattr(sc, n))])
def test_public_classes_read_as_a_public_module(name: str) -> None:
    # Signal and Signals live in the public smartcar_async.signals module, the Connect
    # names in smartcar_async.connect.
    assert getattr(sc, name).__module__ in (
        "smartcar_async",
        "smartcar_async.signals",
        "smartcar_async.connect",
    )


def test_models_still_parse_after_their_module_is_renamed() -> None:
    # String annotations are resolved in __module__'s namespace; the package resolves
    # them before renaming, or cattrs would fail with a NameError here.
    from smartcar_async._models import structure

    vehicle = structure({"id": "v1", "make": "Tesla", "year": 2024}, sc.Vehicle)
    assert (vehicle.make, vehicle.year) == ("Tesla", 2024)
    assert repr(sc.RetryPolicy()).startswith("RetryPolicy(")


def test_nothing_is_defined_in_the_package_init() -> None:
    defined_here = [
        name
        for name, obj in vars(sc).items()
        if (inspect.isclass(obj) or inspect.isfunction(obj))
        and getattr(obj, "__module__", "") == "smartcar_async"
        and name not in sc.__all__
    ]
    assert defined_here == []


def test_transports_are_public_and_aiohttp_is_loaded_on_demand() -> None:
    import httpx

    from smartcar_async import transports

    assert issubclass(transports.ShardedTransport, httpx.AsyncBaseTransport)
    assert issubclass(transports.AiohttpTransport, httpx.AsyncBaseTransport)
    assert transports.AiohttpTransport.__module__ == "smartcar_async.transports"
    with pytest.raises(AttributeError):
        _ = transports.NoSuchTransport  # type: ignore[attr-defined]
