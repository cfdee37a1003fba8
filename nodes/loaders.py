"""Model loader nodes."""

from __future__ import annotations

from comfy_api.latest import io

from .clip_limits import served_clip_limits
from .model_folders import find_model_path, model_path_in
from .model_loader import MODEL_FOLDERS, checkpoint_problem, load_transformer, model_choices
from .schema import make_schema, not_listed
from .weights import WEIGHT_DTYPES

AUDIO_VIDEO = "audio+video"
AUDIO_ONLY = "audio only (text-to-audio)"
# ``streams`` option -> the ltx_model ModelKind name the transformer is built as (None = as the file is)
STREAMS: dict[str, str | None] = {AUDIO_VIDEO: None, AUDIO_ONLY: "AUDIO_ONLY"}
COMPILE_OFF = "off"
# ``compile`` option -> the torch.compile backend of model_loader.compile_blocks (None = eager)
COMPILE_BACKENDS: dict[str, str | None] = {COMPILE_OFF: None, "inductor": "inductor"}


class LTX2NCheckpointLoader(io.ComfyNode):
    """The diffusion transformer of an LTX-2 / LTX-2.3 single-file checkpoint or an LTX-2.5 transformer file as a
    ComfyUI MODEL.

    Node id ``LTX2NCheckpointLoader``; input ``ckpt_name`` (models/checkpoints and models/diffusion_models: the
    dropdown leaves out files whose header shows another kind, e.g. LoRAs or VAE parts); output ``model`` (MODEL).
    The text embeddings connectors are loaded into the model too when the file has them, so the MODEL also accepts
    core's ``LTXAVTextEncoderLoader`` + ``CLIPTextEncode`` conditioning. The detected family / variant / version set
    the defaults of the pack's scheduler, guider and sampler nodes.

    Optional ``weight_dtype`` (see ``nodes/weights.py``): ``default`` (ComfyUI decides; fp8 files stay fp8 when
    memory is short), ``fp8_e4m3fn`` / ``fp8_e5m2`` (fp8 storage of the block matrices, bf16 files cast on load,
    compute up-cast), ``fp8_e4m3fn_fast`` (plus fp8 matmul where the GPU supports it), ``bf16``.

    Optional ``streams``: ``audio+video`` (default) or ``audio only (text-to-audio)``: only the audio stream's
    weights (+ text connectors) are read, about 17% of the transformer's bytes; that MODEL can only sample
    audio-only latents (``nodes/diffusion.py`` raises ``AUDIO_ONLY_MODEL_ERROR`` at the first forward otherwise).

    Optional ``compile``: ``off`` (default, eager) or ``inductor``: every transformer block is compiled on its own
    with ``torch.compile`` at sample time (``model_loader.compile_blocks``, ComfyUI's compile wrapper, as core's
    ``TorchCompileModel``); the weights, key names and LoRA patches are unchanged.
    """

    DISPLAY_NAME = "Load LTX-2 Model"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls,
            group="loaders",
            description="Loads the audio+video diffusion model from an official LTX-2 / LTX-2.3 checkpoint "
                        "(models/checkpoints) or an LTX-2.5 transformer file (models/diffusion_models) with this "
                        "pack's own implementation.",
            inputs=[io.Combo.Input("ckpt_name", options=(choices := model_choices()),
                                   extra_dict=served_clip_limits(choices, MODEL_FOLDERS),  # js/ltx2_model_limits.js
                                   tooltip="LTX-2 or LTX-2.3 single-file checkpoint (.safetensors) in "
                                           "models/checkpoints, or an LTX-2.5 transformer file "
                                           "(ltx-2.5-22b-*-transformer-*.safetensors) in models/diffusion_models."),
                    io.Combo.Input("weight_dtype", options=list(WEIGHT_DTYPES), default="default", optional=True,
                                   tooltip="Weight storage: default = ComfyUI's choice; fp8_e4m3fn / fp8_e5m2 store "
                                           "the transformer blocks' matrices in fp8 (about half the memory of "
                                           "bf16, computed in bf16); fp8_e4m3fn_fast also uses fp8 matmul on GPUs "
                                           "that support it (Ada, Hopper and newer); bf16 up-casts fp8 files."),
                    io.Combo.Input("streams", options=list(STREAMS), default=AUDIO_VIDEO, optional=True,
                                   tooltip="audio+video = the whole model. audio only (text-to-audio) loads just "
                                           "the audio stream (about 17% of the transformer's weights: the video "
                                           "blocks and the audio<->video cross-attention are not read), for "
                                           "Empty Audio Latent (LTX-2) text-to-audio; such a MODEL can only "
                                           "generate audio (a latent with video frames is an error)."),
                    io.Combo.Input("compile", options=list(COMPILE_BACKENDS), default=COMPILE_OFF, optional=True,
                                   tooltip="off = run eagerly. inductor = torch.compile each transformer block "
                                           "(the blocks share one graph; no recompiles per step): the first run "
                                           "is slower while it compiles, later runs are faster. "
                                           "Needs a working compiler toolchain (Triton on GPUs, a C++ compiler "
                                           "on the CPU).")],
            outputs=[io.Model.Output(display_name="model", tooltip="The diffusion model, usable with core "
                                                                  "samplers and LoRA loaders.")],
        )

    @classmethod
    def validate_inputs(cls, ckpt_name: str | None = None) -> bool | str:
        # header only (cheap): a non-LTX or LoRA / upsampler file is refused before anything runs
        if ckpt_name is None:
            return True  # linked input: checked in execute
        path = find_model_path(MODEL_FOLDERS, ckpt_name) if isinstance(ckpt_name, str) else None
        if path is None:  # a listed-but-hidden file is judged by its header below, not called missing
            return not_listed("ckpt_name", ckpt_name, (), "models/checkpoints or models/diffusion_models")
        return checkpoint_problem(path) or True

    @classmethod
    def execute(cls, ckpt_name: str, weight_dtype: str = "default", streams: str = AUDIO_VIDEO,
                compile: str = COMPILE_OFF) -> io.NodeOutput:
        if streams not in STREAMS:
            raise ValueError(f"streams must be one of {', '.join(STREAMS)} (got {streams!r})")
        if compile not in COMPILE_BACKENDS:
            raise ValueError(f"Load LTX-2 Model: compile must be one of {', '.join(COMPILE_BACKENDS)} "
                             f"(got {compile!r})")
        try:
            return io.NodeOutput(load_transformer(model_path_in(MODEL_FOLDERS, ckpt_name), weight_dtype,
                                                  kind=STREAMS[streams], compile_backend=COMPILE_BACKENDS[compile]))
        except ValueError as exc:  # ltx_model's CheckpointError / ConfigError: one-line reasons
            raise ValueError(f"{ckpt_name} is not a loadable LTX-2 checkpoint: {exc}") from None
