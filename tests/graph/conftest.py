"""Fixtures of the in-process ComfyUI host (see tests/host.py)."""

from host import comfy_host, pack_nodes  # noqa: F401  (pytest fixtures)
