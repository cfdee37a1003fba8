"""Generate ``tests/data/ltx25_transformer_golden.json``: outputs of Lightricks' latest ltx-core on tiny LTX-2.5
transformers (our code; Lightricks' code is only imported from a local checkout, never committed).

Run from the repository root with ltx-core HEAD (github Lightricks/LTX-2 main @400fd31, ltx-core 1.2.x) first on
the path::

    PYTHONPATH=/path/to/LTX-2/packages/ltx-core/src:.:tests python tests/data/golden/ltx25_transformer_golden.py

For each case the reference model is built by HEAD's own ``LTXModelConfigurator`` /
``LTXVideoOnlyModelConfigurator`` from the tiny metadata section (``ltx25_section``), loaded strictly with the weights
of ``random_transformer(config, seed=0)`` (official key names minus ``model.diffusion_model.``), and run in fp32 on
``case_inputs(config, case, seed=1)`` with perturbations=None. The full velocity outputs are stored (a few hundred
floats), rounded to 7 significant digits.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from ltx25_transformer_cases import GOLDEN_CASES, case_inputs, ltx25_config, ltx25_section, random_transformer

OUT = Path(__file__).resolve().parent.parent / "ltx25_transformer_golden.json"


def reference_model(kind_name: str, section: dict) -> torch.nn.Module:
    """HEAD's model built by its configurator from ``{"config": {"transformer": section}}``."""
    from ltx_core.model.transformer import model_configurator as mc

    configurator = {"AUDIO_VIDEO": mc.LTXModelConfigurator, "VIDEO_ONLY": mc.LTXVideoOnlyModelConfigurator}[kind_name]
    return configurator.from_metadata({"config": {"transformer": section}}).eval()


def reference_modality(modality: object) -> object:
    """Our Modality as HEAD's (same field names)."""
    from ltx_core.model.transformer.modality import Modality as RefModality

    if modality is None:
        return None
    return RefModality(**{k: getattr(modality, k) for k in RefModality.__dataclass_fields__})


def main() -> int:
    import ltx_core

    sys.stderr.write(f"ltx-core from {ltx_core.__file__}\n")
    golden: dict[str, dict[str, list[float]]] = {}
    for name, (kind, case, changes) in GOLDEN_CASES.items():
        config = ltx25_config(kind, **changes)
        ours = random_transformer(config, seed=0)
        ref = reference_model(kind.name, ltx25_section(**section_changes(changes)))
        ref.load_state_dict(ours.state_dict(), strict=True)
        video, audio = case_inputs(config, case, seed=1)
        with torch.no_grad():
            want = ref(reference_modality(video), reference_modality(audio), None)
        golden[name] = {stream: [float(f"{v:.7g}") for v in out.flatten().tolist()]
                        for stream, out in zip(("video", "audio"), want, strict=True) if out is not None}
    OUT.write_text(json.dumps({"source": "Lightricks/LTX-2 main @400fd31 (ltx-core 1.2.x)", "cases": golden},
                              separators=(",", ":")) + "\n")
    sys.stderr.write(f"wrote {OUT}\n")
    return 0


def section_changes(changes: dict) -> dict:
    """Our config field changes -> the metadata keys that express them."""
    names = {"prompt_adaln": "use_prompt_adaln_single", "keyframes_embedding": "use_keyframes_abs_pos_embedding",
             "ff_bias": "ff_bias", "audio_ff_bias": "audio_ff_bias"}
    return {names[k]: v for k, v in changes.items()}


if __name__ == "__main__":
    sys.exit(main())
