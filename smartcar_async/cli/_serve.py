"""``smartcar-async emulator serve``: the emulator on loopback until Ctrl-C."""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import socket
from contextlib import AsyncExitStack

import anyio
import anyio.abc

from .._config import (
    ENV_APPLICATION_ID,
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    ENV_CONNECT_URL,
    ENV_MANAGEMENT_API_URL,
    ENV_REDIRECT_URI,
    ENV_TOKEN_URL,
    ENV_VEHICLE_API_URL,
)
from ..testing import SmartcarEmulator
from ._exit import CLIError, ExitCode, leaf_errors
from ._output import Output

__all__ = ["emulator_environment", "require_uvicorn", "serve_emulator"]

HOST = "127.0.0.1"

#: Where webhook receivers read the Application Management Token from.
ENV_MANAGEMENT_TOKEN = "SMARTCAR_MANAGEMENT_TOKEN"


def require_uvicorn() -> None:
    """Raise `CLIError` when the server the emulator needs is not installed."""
    if importlib.util.find_spec("uvicorn") is None:
        raise CLIError(
            "serving the emulator needs uvicorn",
            ExitCode.CONFIGURATION,
            hint="pip install 'smartcar-async[cli]'",
        )


def _port_error(port: int, error: OSError) -> CLIError:
    return CLIError(
        f"cannot listen on {HOST}:{port}: {error.strerror or error}",
        ExitCode.CONFIGURATION,
        hint="pick another --port, or --port 0 for any free one",
    )


def _check_port(port: int) -> None:
    """Raise `CLIError` if ``HOST:port`` cannot be bound (the same options as serve())."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise _port_error(port, error) from error


def emulator_environment(emulator: SmartcarEmulator, base_url: str) -> dict[str, str]:
    """The environment variables that point the SDK and the CLI at a served emulator."""
    kwargs = emulator.client_kwargs(base_url=base_url)
    connect = emulator.connect_kwargs(base_url)
    return {
        ENV_CLIENT_ID: kwargs["client_id"],
        ENV_CLIENT_SECRET: kwargs["client_secret"],
        ENV_TOKEN_URL: kwargs["token_url"],
        ENV_VEHICLE_API_URL: kwargs["vehicle_api_url"],
        ENV_MANAGEMENT_API_URL: kwargs["management_api_url"],
        ENV_APPLICATION_ID: connect["client_id"],
        ENV_REDIRECT_URI: connect["redirect_uri"],
        ENV_CONNECT_URL: connect["connect_url"],
        # Read by webhook receivers (the SDK's examples), not by the client.
        ENV_MANAGEMENT_TOKEN: emulator.management_token,
    }


async def serve_emulator(
    args: argparse.Namespace,
    out: Output,
    *,
    task_status: anyio.abc.TaskStatus[str] = anyio.TASK_STATUS_IGNORED,
) -> int:
    """Serve a seeded emulator, print its environment, and wait to be cancelled.

    ``task_status.started`` gets the base URL once the server accepts connections, so
    a caller (a test) can ``await task_group.start(serve_emulator, ...)``.
    """
    require_uvicorn()
    emulator = SmartcarEmulator(
        vehicles=args.vehicles, seed=args.seed, token_lifetime=args.token_lifetime
    )
    # Probed first: serve() leaves its socket to the garbage collector when the bind
    # fails, and a clear message beats a ResourceWarning.
    _check_port(args.port)
    async with AsyncExitStack() as stack:
        try:
            base_url = await stack.enter_async_context(emulator.serve(host=HOST, port=args.port))
        except Exception as exc:
            # Taken between the probe and the bind. The OSError comes out of serve()'s
            # task group, possibly wrapped in an exception group.
            failure = next(iter(leaf_errors(exc)))
            if not isinstance(failure, OSError):
                raise
            raise _port_error(args.port, failure) from exc
        environment = emulator_environment(emulator, base_url)
        fleet = emulator.fleet()
        example = fleet[0] if fleet else None
        if out.json_mode:
            out.json(
                {
                    "base_url": base_url,
                    "environment": environment,
                    "vehicles": len(fleet),
                    "seed": args.seed,
                    "example": {"vehicle_id": example.vehicle_id, "user_id": example.user_id}
                    if example
                    else None,
                }
            )
        else:
            for name, value in environment.items():
                out.line(f"export {name}={shlex.quote(value)}")
            out.note(
                f"The emulator serves {len(fleet)} vehicles (seed {args.seed}) on {base_url}. "
                "Paste the lines above into a shell, then try:"
            )
            out.note("  smartcar-async connections")
            out.note('  curl -si "$(smartcar-async connect-url --state demo)"   # onboard an owner')
            if example is not None:
                out.note(
                    f"  smartcar-async signals {example.vehicle_id} --user-id {example.user_id}"
                )
            out.note(
                f"{ENV_MANAGEMENT_TOKEN} signs the emulator's webhook deliveries: give it to "
                "the webhook receiver you test."
            )
            out.note("Ctrl-C stops it.")
        task_status.started(base_url)
        await anyio.sleep_forever()
    return ExitCode.OK  # pragma: no cover - only cancellation leaves sleep_forever
