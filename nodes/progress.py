"""ComfyUI's progress bar and interrupt button as the library's ``progress(done, total)`` callback.

``ltx_model`` calls ``progress(done, total)`` after each unit of work (a VAE tile, ...) and lets any exception raised
from it abort the computation. :class:`HostProgress` forwards the count to ``comfy.utils.ProgressBar`` (the UI's bar
on the executing node) and raises ComfyUI's ``InterruptProcessingException`` when the user pressed Cancel.
"""

from __future__ import annotations

import comfy.model_management
import comfy.utils


class HostProgress:
    """``progress(done, total)`` callback: interrupt check, then the node's progress bar.

    One instance may be reused across attempts with a different ``total`` (e.g. a decode retried with smaller tiles):
    the bar then restarts at the new total.
    """

    def __init__(self) -> None:
        self._bar: comfy.utils.ProgressBar | None = None

    def check_interrupt(self) -> None:
        """Raise ``InterruptProcessingException`` if the user cancelled the run."""
        comfy.model_management.throw_exception_if_processing_interrupted()

    def __call__(self, done: int, total: int) -> None:
        self.check_interrupt()
        if self._bar is None or self._bar.total != total:
            self._bar = comfy.utils.ProgressBar(total)
        self._bar.update_absolute(done, total)
