"""``python -m ltx_model.pipelines``: see :mod:`ltx_model.pipelines.cli`."""

from .cli import main

raise SystemExit(main())
