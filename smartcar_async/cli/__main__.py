"""``python -m smartcar_async.cli``: the same as the ``smartcar-async`` command."""

from . import main

raise SystemExit(main())
