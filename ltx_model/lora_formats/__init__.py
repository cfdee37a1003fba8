"""LoRA file formats: per-module adapter layers (layers.py), the adapter formulas (formulas.py) and the
inspector's LoRA description (describe.py)."""
