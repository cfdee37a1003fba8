"""Host seams that need no running ComfyUI: the executor's cache arguments are read from the host's own main.py
and execution.py."""

from __future__ import annotations

import pytest

from scripts.comfy_headless import executor_cache_args

EXECUTOR = 'e = execution.PromptExecutor(server_instance, cache_type=cache_type, cache_args={ "lru" : args.cache_lru, '
MAIN_V020 = EXECUTOR + '"ram" : cache_ram } )\n'
MAIN_V033 = EXECUTOR + '"ram" : cache_ram, "ram_inactive" : cache_ram_inactive } )\n'


def test_host_seam_cache_args_follow_the_hosts_main(tmp_path):
    (tmp_path / "main.py").write_text(MAIN_V020)
    assert executor_cache_args(tmp_path) == {"lru": 0, "ram": 0}
    (tmp_path / "main.py").write_text(MAIN_V033)
    assert executor_cache_args(tmp_path) == {"lru": 0, "ram": 0, "ram_inactive": 0}  # v0.33.0 reads ram_inactive
    (tmp_path / "main.py").write_text("print('no executor here')\n")
    with pytest.raises(RuntimeError, match="cache_args keys"):  # no guessed keys: a clear error instead
        executor_cache_args(tmp_path)
    (tmp_path / "execution.py").write_text('ram_headroom = int(self.cache_args["ram"] * (1024 ** 3))\n')
    assert executor_cache_args(tmp_path) == {"ram": 0}  # the keys the executor reads count too
