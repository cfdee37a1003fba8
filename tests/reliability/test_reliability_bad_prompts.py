"""Bad API prompts for EVERY pack node, generated from the server's live /object_info (new nodes are covered
automatically): missing inputs, out-of-range and wrong-typed values, unknown / traversal file names, links of the
wrong type. Each must end in a validation error (HTTP 400 + node_errors) or an execution error that says what is
wrong, and the server must stay up and run the next good prompt."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from rel_checks import BAD_PROMPT_LIMIT_S, BARE_MESSAGE, compare_with_known, unclear
from rel_prompts import TARGET, InputSpec

pytestmark = pytest.mark.reliability

BAD_NAMES = ("no-such-file.safetensors", "../../x.safetensors", "../outside/secret.safetensors",
             "/etc/passwd", "..\\..\\x.safetensors", "gemma-rel/../../x/")
NOT_A_NUMBER = "not a number"


# Defects found by these tests (reported to the node owners, not fixed yet): regular expressions over case labels.
# Each must still match a failing case; when one is fixed the test fails with "FIXED ..." until the entry goes.
KNOWN_DEFECTS: dict[str, str] = {}


def _check_cases(rel_server, healthy, cases) -> None:
    """Run ``(label, prompt, mentions)`` cases; after each, the server must be healthy and run a good prompt. The
    labels whose outcome is not a clear error must be exactly the known defects."""
    problems = {}
    for label, prompt, mentions in cases:
        outcome = rel_server.run(prompt, interrupt_after_s=BAD_PROMPT_LIMIT_S)
        problem = unclear(outcome, mentions=mentions)
        if problem:
            problems[label] = problem
        healthy(after=label)
    report = compare_with_known(problems, KNOWN_DEFECTS, {label for label, _, _ in cases})
    assert not report, report


def _socket_and_widget_specs(factory, kinds: set[str] | None = None, *, required_only: bool = False):
    for node in factory.pack_nodes():
        for spec in factory.specs(node):
            if (kinds is None or spec.type in kinds) and (spec.required or not required_only):
                yield node, spec


def _defined_node_classes() -> set[str]:
    """Names of the ``LTX2N*`` node classes defined in nodes/*.py (ast; what the server should expose): classes
    deriving from ``ComfyNode`` directly or through other classes of nodes/."""
    bases: dict[str, list[str]] = {}
    for path in (Path(__file__).resolve().parents[2] / "nodes").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bases |= {n.name: [ast.unparse(b) for b in n.bases] for n in tree.body if isinstance(n, ast.ClassDef)}

    def is_node(name: str) -> bool:
        return any(b.endswith("ComfyNode") or (b in bases and is_node(b)) for b in bases.get(name, []))

    return {name for name in bases if name.startswith("LTX2N") and is_node(name)}


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


def test_reliability_out_of_range_numbers_rejected_at_validation(comfy_host):
    """A value outside the schema's min/max must be refused before anything runs (checked with ComfyUI's own
    validate_prompt in-process, so a value that slips through never starts a huge computation)."""
    from rel_prompts import PromptFactory

    from scripts.comfy_headless import PromptRejected

    factory, problems, labels = PromptFactory(comfy_host.object_info()), {}, set()
    for node, spec in _socket_and_widget_specs(factory, {"INT", "FLOAT"}):
        for value in _out_of_range(spec):
            label = f"{node}.{spec.name}={value}"
            labels.add(label)
            try:
                comfy_host.validate(factory.prompt_for(node, {spec.name: value}))
                problems[label] = "passed validation"
            except PromptRejected as exc:
                errors = exc.node_errors.get(TARGET, {}).get("errors", [])
                text = " ".join(f"{e.get('message')} {e.get('details')}" for e in errors)
                if spec.name not in text or BARE_MESSAGE.search(text):
                    problems[label] = f"unclear: {text or exc.error}"
    report = compare_with_known(problems, KNOWN_DEFECTS, labels)
    assert not report, report


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
