"""A folder of split component files inspected and loaded as one model (the LTX-2.5 layout).

LTX-2.5 ships one file per part instead of one single file (ltx2-model.md §11; ltx-pipelines
``ModelPaths.from_split``): ``diffusion_models/ltx-2.5-22b-{dev,distilled}-transformer-*.safetensors`` (transformer +
text connectors under ``model.diffusion_model.``), ``text_encoders/gemma4-12b-with-proj-ltx-2.5-*`` (Gemma 4 +
``text_embedding_projection.``),
``vae/ltx-2.5-video-vae-*`` (``vae.``), ``vae/ltx-2.5-audio-vae-*`` (``audio_vae.`` + ``vocoder.``), latent upscalers
and LoRAs. The key prefixes are the single-file ones, so each part loads with the single-file key table.

:func:`open_split_model` reads every header of a folder (no tensor data), names the part and family of each file and
refuses the folder as a whole - before anything is loaded - when a file is truncated or corrupt, when a file belongs
to another model family, or when a required part is missing: ONE :class:`SplitModelError` naming the file (or the
missing part and the file name expected) and what is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from .detect import FAMILY_SIGNATURES, CheckpointInfo, Family, FilePart, Variant, detect
from .keymaps import Component
from .safetensors_io import CheckpointError, read_header


class SplitModelError(CheckpointError):
    """A folder of split files is not one usable model (bad file, wrong family, missing part)."""


# The parts a complete LTX-2.5 model needs (ltx-pipelines' distilled pipeline), with the published file names.
REQUIRED_PARTS: tuple[FilePart, ...] = (FilePart.TRANSFORMER, FilePart.TEXT_ENCODER, FilePart.VIDEO_VAE,
                                        FilePart.AUDIO_VAE)
PART_FILE_NAMES: dict[FilePart, str] = {
    FilePart.TRANSFORMER: "ltx-2.5-22b-{dev,distilled}-transformer-*.safetensors",
    FilePart.TEXT_ENCODER: "gemma4-12b-with-proj-ltx-2.5-*.safetensors",
    FilePart.VIDEO_VAE: "ltx-2.5-video-vae-*.safetensors",
    FilePart.AUDIO_VAE: "ltx-2.5-audio-vae-*.safetensors",
    FilePart.UPSAMPLER: "ltx-2.5-latent-{spatial,temporal}-upscaler-x2-*.safetensors",
    FilePart.LORA: "ltx-2.5-22b-distilled-lora-*.safetensors",
    FilePart.DURATION_HEAD: "*duration*head*.safetensors (duration_head.* tensors)",
}


@dataclass(frozen=True)
class SplitModel:
    """The files of one split model, every header read and checked.

    Attributes:
        folder: the folder.
        family: the model family (from the transformer file).
        files: every ``.safetensors`` file below the folder (sorted by path), as detected.
    """

    folder: Path
    family: Family
    files: tuple[CheckpointInfo, ...]

    def part(self, part: FilePart) -> tuple[CheckpointInfo, ...]:
        """The files holding ``part`` (e.g. the dev and the distilled transformer)."""
        return tuple(info for info in self.files if info.part is part)

    def component_path(self, component: Component, *, variant: Variant | None = None) -> str:
        """The file holding ``component`` (of ``variant`` when several files hold it).

        Raises:
            SplitModelError: no file holds it, or several do and ``variant`` does not pick one.
        """
        holders = [i for i in self.files if component in i.components]
        if variant is not None and len(holders) > 1:
            holders = [i for i in holders if i.variant is variant]
        if len(holders) != 1:
            found = ", ".join(Path(i.path).name for i in holders) or "none"
            raise SplitModelError(f"{self.folder}: need exactly one file with the {component.value} "
                                  f"(variant {variant.value if variant else 'any'}), found: {found}")
        return holders[0].path

    def part_path(self, part: FilePart, *, variant: Variant | None = None, required: bool = True) -> str | None:
        """The one file holding ``part`` (of ``variant`` when several do); None when absent and not ``required``.

        Raises:
            SplitModelError: a required part is missing, or several files hold it and ``variant`` does not pick one.
        """
        holders = list(self.part(part))
        if variant is not None and len(holders) > 1:
            holders = [i for i in holders if i.variant is variant]
        if not holders and not required:
            return None
        if len(holders) != 1:
            found = ", ".join(Path(i.path).name for i in holders) or "none"
            raise SplitModelError(f"{self.folder}: need exactly one {part.value} file ({PART_FILE_NAMES.get(part, '')}"
                                  f"; variant {variant.value if variant else 'any'}), found: {found}")
        return holders[0].path


def safetensors_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Every ``*.safetensors`` file below ``folder`` (recursive, sorted)."""
    return sorted(p for p in Path(folder).rglob("*.safetensors") if p.is_file())


def _detect_all(paths: Iterable[Path]) -> tuple[CheckpointInfo, ...]:
    """Detect every file; a truncated or corrupt one raises, naming it."""
    infos = []
    for path in paths:
        try:
            infos.append(detect(read_header(path)))
        except CheckpointError as exc:
            raise SplitModelError(f"{exc} (in a split model folder; every file must be complete)") from None
    return tuple(infos)


def _model_family(folder: Path, infos: tuple[CheckpointInfo, ...]) -> Family:
    """The family of the folder's transformer file(s); raises when there is none or they disagree."""
    families = {i.family for i in infos if i.part is FilePart.TRANSFORMER}
    if not families:
        raise _missing(folder, [FilePart.TRANSFORMER], infos)
    if len(families) > 1:
        listing = ", ".join(f"{Path(i.path).name} ({i.family.value})" for i in infos if i.part is FilePart.TRANSFORMER)
        raise SplitModelError(f"{folder}: transformer files of different families: {listing}")
    return families.pop()


def _missing(folder: Path, parts: list[FilePart], infos: tuple[CheckpointInfo, ...]) -> SplitModelError:
    wanted = "; ".join(f"{p.value} ({PART_FILE_NAMES[p]})" for p in parts)
    found = ", ".join(f"{Path(i.path).name} = {i.part.value}" for i in infos) or "no .safetensors files"
    return SplitModelError(f"{folder}: split model is missing: {wanted}; found: {found}")


def _check_family(info: CheckpointInfo, family: Family, transformer: str) -> CheckpointInfo:
    """A part whose own evidence names another family raises (an unknown family passes: the part has no family
    marker). A part whose only evidence is a module the model's family kept from an older one (a 2.5 text
    encoder's V2 projection is 2.3's) is returned as a part of ``family``."""
    if info.part is FilePart.SINGLE_FILE:
        raise SplitModelError(f"{info.path}: a single-file {info.family.value} checkpoint, not a split part of the "
                              f"{family.value} model of {transformer}")
    included = next((sig.includes for sig in FAMILY_SIGNATURES if sig.family is family), ())
    if info.family in included and not info.evidence.startswith("metadata"):
        return replace(info, family=family, evidence=f"part of the {family.value} model ({info.evidence})")
    if info.family not in (family, Family.UNKNOWN):
        raise SplitModelError(f"{info.path}: {info.part.value} file of family {info.family.value} ({info.evidence}), "
                              f"but the model's transformer {transformer} is {family.value}")
    return info


def open_split_model(
    folder: str | os.PathLike[str], *, required: Iterable[FilePart] = REQUIRED_PARTS
) -> SplitModel:
    """Read and check every file of a split-model folder (headers only).

    Args:
        folder: the folder (searched recursively for ``*.safetensors``).
        required: parts that must be present (default: a complete LTX-2.5 model, :data:`REQUIRED_PARTS`).
    Raises:
        SplitModelError: one line naming the bad file, the file of the wrong family, or the missing part(s).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SplitModelError(f"{folder}: not a folder")
    infos = _detect_all(safetensors_files(folder))
    family = _model_family(folder, infos)
    transformer = Path(next(i.path for i in infos if i.part is FilePart.TRANSFORMER)).name
    infos = tuple(_check_family(info, family, transformer) for info in infos)
    missing = [p for p in required if not any(i.part is p for i in infos)]
    if missing:
        raise _missing(folder, missing, infos)
    return SplitModel(folder, family, infos)
