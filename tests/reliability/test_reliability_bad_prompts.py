"""Bad API prompts for EVERY pack node, generated from the server's live /object_info (new nodes are covered
automatically): missing inputs, out-of-range and wrong-typed values, unknown / traversal file names, links of the
wrong type. Each must end in a validation error (HTTP 400 + node_errors) or an execution error that says what is
wrong, and the server must stay up and run the next good prompt."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from rel_checks import compare_with_known, unclear
from rel_prompts import TARGET, InputSpec

pytestmark = pytest.mark.reliability

BAD_NAMES = ("no-such-file.safetensors", "../../x.safetensors", "../outside/secret.safetensors",
             "/etc/passwd", "..\\..\\x.safetensors", "gemma-rel/../../x/")
NOT_A_NUMBER = "not a number"


# Defects found by these tests (reported, not yet fixed by the node owners). Each entry must still fail; when one
# is fixed the test fails with "FIXED ..." until the entry is removed.
_RANGE_BYPASS = ("LTX2NEmptyAVLatent.validate_inputs takes width/height/frames/fps, so ComfyUI skips its own "
                 "min/max check for them and AVLatentGeometry.problem() does not check the bounds")
_COMBO_BYPASS = ("validate_inputs takes the file name, so ComfyUI skips its 'value not in list' check, and "
                 "validate_inputs returns True for names not in the folder: execute() passes an int to "
                 "folder_paths (TypeError)")
_TYPE_CRASH = ("validate_inputs runs even after ComfyUI's own conversion failed and compares the raw string "
               "with numbers: the clear 'Failed to convert' error is replaced by a Python TypeError")
KNOWN_DEFECTS: dict[str, str] = {
    "LTX2NEmptyAVLatent.width=8224": _RANGE_BYPASS,
    "LTX2NEmptyAVLatent.height=8224": _RANGE_BYPASS,
    "LTX2NEmptyAVLatent.frames=8201": _RANGE_BYPASS,
    "LTX2NEmptyAVLatent.fps=241.0": _RANGE_BYPASS,
    "LTX2NCheckpointLoader.ckpt_name=12345": _COMBO_BYPASS,
    "LTX2NLoraLoader.lora_name=12345": _COMBO_BYPASS,
    "LTX2NUpscalerLoader.upscaler_name=12345": _COMBO_BYPASS,
    "LTX2NEmptyAVLatent.width='not a number'": _TYPE_CRASH,
    "LTX2NEmptyAVLatent.height='not a number'": _TYPE_CRASH,
    "LTX2NEmptyAVLatent.frames='not a number'": _TYPE_CRASH,
    "LTX2NEmptyAVLatent.fps='not a number'": _TYPE_CRASH,
    "LTX2NTextEncoderLoader.gemma=12345": "gemma_problem() calls name.endswith on a non-string (AttributeError "
                                          "during validation)",
}


def _check_cases(rel_server, healthy, cases) -> None:
    """Run ``(label, prompt, mentions)`` cases; after each, the server must be healthy and run a good prompt. The
    labels whose outcome is not a clear error must be exactly the known defects."""
    problems = {}
    for label, prompt, mentions in cases:
        outcome = rel_server.run(prompt)
        problem = unclear(outcome, mentions=mentions)
        if problem:
            problems[label] = problem
        healthy(after=label)
    labels = {label for label, _, _ in cases}
    report = compare_with_known(problems, {k: v for k, v in KNOWN_DEFECTS.items() if k in labels})
    assert not report, report


def _socket_and_widget_specs(factory, kinds: set[str] | None = None, *, required_only: bool = False):
    for node in factory.pack_nodes():
        for spec in factory.specs(node):
            if (kinds is None or spec.type in kinds) and (spec.required or not required_only):
                yield node, spec


def _defined_node_classes() -> set[str]:
    """Names of the ``LTX2N*`` node classes defined in nodes/*.py (ast; what the server should expose)."""
    names = set()
    for path in (Path(__file__).resolve().parents[2] / "nodes").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= {n.name for n in tree.body if isinstance(n, ast.ClassDef) and n.name.startswith("LTX2N")
                  and any(ast.unparse(base).endswith("ComfyNode") for base in n.bases)}
    return names


def test_reliability_every_pack_node_is_covered(factory):
    nodes = factory.pack_nodes()
    assert set(nodes) == _defined_node_classes(), "the live /object_info and nodes/*.py disagree"
    for node in nodes:  # a valid prompt can be built around each (providers exist for every socket type)
        assert TARGET in factory.prompt_for(node)


def test_reliability_missing_required_inputs_rejected(rel_server, factory, assert_server_healthy):
    cases = []
    for node, spec in _socket_and_widget_specs(factory, required_only=True):
        prompt = factory.prompt_for(node)
        del prompt[TARGET]["inputs"][spec.name]
        cases.append((f"{node}.{spec.name} missing", prompt, (spec.name,)))
    _check_cases(rel_server, assert_server_healthy, cases)


def _out_of_range(spec: InputSpec) -> list:
    step = spec.options.get("step") or 1
    step = int(step) if spec.type == "INT" else step
    values = [spec.options["max"] + step] if "max" in spec.options else []
    return values + ([spec.options["min"] - step] if "min" in spec.options else [])


def test_reliability_out_of_range_numbers_rejected(rel_server, factory, assert_server_healthy):
    cases = []
    for node, spec in _socket_and_widget_specs(factory, {"INT", "FLOAT"}):
        for value in _out_of_range(spec):
            cases.append((f"{node}.{spec.name}={value}", factory.prompt_for(node, {spec.name: value}),
                          (spec.name,)))
    _check_cases(rel_server, assert_server_healthy, cases)


def test_reliability_wrong_typed_values_rejected(rel_server, factory, assert_server_healthy):
    cases = []
    for node, spec in _socket_and_widget_specs(factory, {"INT", "FLOAT", "COMBO"}):
        value = 12345 if spec.type == "COMBO" else NOT_A_NUMBER
        cases.append((f"{node}.{spec.name}={value!r}", factory.prompt_for(node, {spec.name: value}),
                      (spec.name, str(value))))
    _check_cases(rel_server, assert_server_healthy, cases)


def test_reliability_unknown_and_traversal_file_names_rejected(rel_server, rel_models, factory,
                                                               assert_server_healthy):
    # a loadable checkpoint right outside the model folder: a traversal that escaped would find (and load) it
    outside = rel_models.root / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.safetensors").write_bytes(
        (rel_models.folder("checkpoints") / rel_models.checkpoint).read_bytes())
    cases = []
    for node, spec in _socket_and_widget_specs(factory, {"COMBO"}):
        for name in BAD_NAMES:
            cases.append((f"{node}.{spec.name}={name!r}", factory.prompt_for(node, {spec.name: name}),
                          (spec.name, name)))
    _check_cases(rel_server, assert_server_healthy, cases)


def test_reliability_links_of_wrong_type_rejected(rel_server, factory, assert_server_healthy):
    cases = []
    for node, spec in _socket_and_widget_specs(factory):
        if spec.is_widget or spec.type == "*":
            continue
        prompt = factory.prompt_for(node)
        prompt[TARGET]["inputs"][spec.name] = factory.wrong_type_source(prompt, spec)
        cases.append((f"{node}.{spec.name} <- wrong type", prompt, (spec.name,)))
    _check_cases(rel_server, assert_server_healthy, cases)
