"""``python -m bench <scenario> [options]``: run one benchmark scenario.

Scenarios register in `SCENARIOS` below as ``name -> "module:function"``; the function
takes the remaining arguments and returns an exit status.

Example:
    $ python -m bench throughput --quick
"""

from __future__ import annotations

import importlib
import sys

SCENARIOS = {
    "throughput": "bench.throughput:main",
    # Issue 8: clients compared (SDK, raw httpx/aiohttp, official package), recorded.
    "reads": "bench.reads:main",
    "token_storm": "bench.token_storm:main",
    "parse_cost": "bench.parse_cost:main",
    "fanout": "bench.fanout:main",
    "http2": "bench.http2:main",
    "per_call": "bench.per_call:main",
    "fleet": "bench.fleet:main",
    "all": "bench.all:main",
}


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the scenario named by the first argument."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0].startswith("-"):
        args = ["all", *args]  # `python -m bench [--quick]` (and `nox -s bench`): everything
    if args[0] not in SCENARIOS:
        print(f"usage: python -m bench {{{','.join(SCENARIOS)}}} [options]", file=sys.stderr)
        return 2
    module_name, func_name = SCENARIOS[args[0]].split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    return int(func(args[1:]))


if __name__ == "__main__":
    sys.exit(main())
