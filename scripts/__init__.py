"""Entry points and helpers around the pack (headless ComfyUI, workflow generator, benchmarks, demo job).

A plain package so that tests and scripts import ``scripts.<module>`` with the repository root on the import path
(pytest's ``pythonpath``; ``python -m scripts.<module>``). Deliberately empty: importing it loads nothing else.
"""
