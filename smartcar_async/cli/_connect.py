"""``smartcar-async connect-url``: the Connect URL that onboards or re-authenticates an owner."""

from __future__ import annotations

import argparse
import os

from .. import connect
from .._config import ENV_APPLICATION_ID, ENV_CONNECT_URL, ENV_REDIRECT_URI
from ._exit import CLIError, ExitCode
from ._output import Output

__all__ = ["add_connect_url_arguments", "run_connect_url"]


def add_connect_url_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``connect-url`` options (names as `smartcar_async.connect.authorization_url`)."""
    parser.add_argument(
        "--application-id",
        metavar="ID",
        help=f"Connect's client_id: the application id, a UUID (default: ${ENV_APPLICATION_ID})",
    )
    parser.add_argument(
        "--redirect-uri",
        metavar="URI",
        help=f"a registered redirect URI (default: ${ENV_REDIRECT_URI})",
    )
    parser.add_argument(
        "--connect-url",
        metavar="URL",
        help=f"Connect's origin (default: ${ENV_CONNECT_URL}, else {connect.CONNECT_URL})",
    )
    parser.add_argument(
        "--scope",
        metavar="PERMISSION",
        action="append",
        help="a permission, repeatable (required:NAME for one the owner cannot uncheck); "
        "default: the dashboard's",
    )
    parser.add_argument(
        "--state", help="the state to send (default: a fresh one, shown with the URL)"
    )
    parser.add_argument("--mode", choices=("live", "simulated", "test"), default="live")
    parser.add_argument("--force-prompt", action="store_true", help="always show the grant screen")
    parser.add_argument("--make", help="skip the brand selector (e.g. TESLA)")
    parser.add_argument("--single-select", action="store_true", help="one vehicle only")
    parser.add_argument("--single-select-vin", metavar="VIN", help="only the vehicle with this VIN")
    parser.add_argument(
        "--flag", metavar="NAME=VALUE", action="append", help="a feature flag, repeatable"
    )
    parser.add_argument("--country", metavar="CC", help="the owner's country (two letters)")
    parser.add_argument("--external-id", metavar="ID", help="your own id for the owner")
    parser.add_argument(
        "--reauthenticate",
        metavar="VEHICLE_ID",
        help="a re-authentication URL for this vehicle instead",
    )


def _flags(pairs: list[str] | None) -> dict[str, str]:
    flags = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        if not sep:
            raise CLIError(f"--flag wants NAME=VALUE, got {pair!r}", ExitCode.USAGE)
        flags[name] = value
    return flags


def _setting(given: str | None, variable: str, what: str, hint: str) -> str:
    value = given or os.environ.get(variable)
    if not value:
        raise CLIError(f"no {what}", ExitCode.CONFIGURATION, hint=hint)
    return value


async def run_connect_url(args: argparse.Namespace, out: Output) -> int:
    """Print the URL on stdout (alone, for ``url=$(...)``), or everything with --json."""
    # Connect's parameter is called client_id: a --client-id given here is checked as
    # one, and authorization_url explains when it is the API credential id instead.
    application_id = _setting(
        args.application_id or args.client_id,
        ENV_APPLICATION_ID,
        "application id",
        f"pass --application-id or set ${ENV_APPLICATION_ID} (the dashboard's "
        "'Application ID', a UUID; not the client_... API credential id)",
    )
    redirect_uri = args.redirect_uri or os.environ.get(ENV_REDIRECT_URI)
    connect_url = args.connect_url or os.environ.get(ENV_CONNECT_URL) or connect.CONNECT_URL
    generated = args.state is None
    state = connect.new_state() if generated else args.state
    if args.reauthenticate:
        url = connect.reauthentication_url(
            client_id=application_id,
            vehicle_id=args.reauthenticate,
            redirect_uri=redirect_uri,
            state=state,
            external_id=args.external_id,
            connect_url=connect_url,
        )
    else:
        url = connect.authorization_url(
            client_id=application_id,
            redirect_uri=_setting(
                redirect_uri,
                ENV_REDIRECT_URI,
                "redirect URI",
                f"pass --redirect-uri or set ${ENV_REDIRECT_URI} (one registered in the dashboard)",
            ),
            scope=args.scope,
            state=state,
            mode=args.mode,
            approval_prompt="force" if args.force_prompt else "auto",
            make=args.make,
            single_select=True if args.single_select else None,
            single_select_vin=args.single_select_vin,
            flags=_flags(args.flag),
            country=args.country,
            external_id=args.external_id,
            connect_url=connect_url,
        )
    if out.json_mode:
        out.json({"url": url, "state": state, "client_id": application_id})
    else:
        out.line(url)
        if generated:
            out.note(f"state: {state}  (keep it: parse_redirect(..., expected_state=...))")
    return ExitCode.OK
