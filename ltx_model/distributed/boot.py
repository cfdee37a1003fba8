"""Start of a worker process, run as a script by :mod:`runpy` (so the child needs no importable host package).

Inside ComfyUI this library is a sub-package of the node pack (e.g. ``LTX2Native.ltx_model``), a name a fresh
process cannot import without running the pack's ``__init__`` (and with it ComfyUI). The driver therefore starts
each worker on ``runpy.run_path(<this file>)``: the script puts the library's parent folder on ``sys.path``, makes
``<prefix>ltx_model.*`` names resolve to the top-level ``ltx_model.*`` modules (objects pickled by the driver name
their classes under the prefixed name), unpickles the setup and enters
:func:`ltx_model.distributed.workers.worker_main`. Nothing here runs on import.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import pickle
import sys
from typing import Any

LIBRARY = "ltx_model"


class PrefixAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves ``<prefix>ltx_model[.x]`` to the already importable ``ltx_model[.x]`` (the same module object)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        """A spec for aliased names and for the (empty) packages above the library; None otherwise."""
        aliased = fullname.startswith(self.prefix + LIBRARY) and fullname[len(self.prefix + LIBRARY):][:1] in ("", ".")
        if aliased or self.prefix.startswith(fullname + "."):
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        return None

    def create_module(self, spec: Any) -> Any:
        """The top-level library module for an aliased name; None (a new empty package) above the library."""
        if spec.name.startswith(self.prefix + LIBRARY):
            return importlib.import_module(spec.name[len(self.prefix):])
        return None

    def exec_module(self, module: Any) -> None:
        """Nothing to run: aliased modules are already imported, the packages above them stay empty."""


def run(root: str, prefix: str, payload: bytes, kwargs: dict[str, Any]) -> None:
    """Worker entry: ``root`` holds ``ltx_model/``; ``prefix`` is the driver's package prefix (may be empty);
    ``payload`` the pickled setup; ``kwargs`` the remaining :func:`worker_main` arguments."""
    if root not in sys.path:
        sys.path.insert(0, root)
    if prefix:
        sys.meta_path.insert(0, PrefixAlias(prefix))
    workers = importlib.import_module(LIBRARY + ".distributed.workers")
    workers.worker_main(setup=pickle.loads(payload), **kwargs)


if __name__ == "__ltx_worker__":  # runpy.run_path(..., run_name="__ltx_worker__", init_globals={"BOOT": ...})
    run(**BOOT)  # type: ignore[name-defined]  # noqa: F821
