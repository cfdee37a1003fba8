"""``python -m ltx_model.pipelines``: see :mod:`ltx_model.pipelines.cli`."""

from ltx_model.pipelines.cli import main

raise SystemExit(main())
