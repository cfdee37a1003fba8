"""Node-schema lint against the live host: ids, registration, categories, tooltips."""

from __future__ import annotations

import json
from pathlib import Path

import harness
import pytest

pytestmark = pytest.mark.comfy

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def comfy_host(tmp_path_factory):
    """The session's in-process ComfyUI (booted here if no other test did it first)."""
    return harness.boot(tmp_path_factory.mktemp("comfy_host"))


@pytest.fixture(scope="module")
def pack_nodes(comfy_host):
    return comfy_host.pack_nodes


def _schemas(pack_nodes):
    return [cls.GET_SCHEMA() for cls in pack_nodes.NODES]


def test_node_schema_nodes_list_matches_mappings(comfy_host, pack_nodes):
    mappings = comfy_host.pack.NODE_CLASS_MAPPINGS
    assert pack_nodes.NODES, "the pack registers no nodes"
    assert len({s.node_id for s in _schemas(pack_nodes)}) == len(pack_nodes.NODES), "duplicate node ids"
    assert mappings == {s.node_id: cls for s, cls in zip(_schemas(pack_nodes), pack_nodes.NODES, strict=True)}
    assert {s.node_id: s.display_name for s in _schemas(pack_nodes)} == comfy_host.pack.NODE_DISPLAY_NAME_MAPPINGS
    assert comfy_host.pack.WEB_DIRECTORY == "./js"


def test_node_schema_registered_in_host(comfy_host, pack_nodes):
    for node_id, cls in comfy_host.pack.NODE_CLASS_MAPPINGS.items():
        assert comfy_host.node_class(node_id) is cls, f"{node_id} is not the pack's class in the host registry"


def test_node_schema_ids_never_collide_with_core(comfy_host):
    core = comfy_host.core_node_ids
    assert len(core) > 300, "the host's core registry looks incomplete"
    assert sorted(set(comfy_host.pack.NODE_CLASS_MAPPINGS) & core) == []


def test_node_schema_ids_never_collide_with_official_pack(comfy_host):
    official = set(json.loads((DATA / "official_pack_node_ids.json").read_text())["node_ids"])
    assert {"LTXVBaseSampler", "MultimodalGuider", "LTXVGemmaCLIPModelLoader"} <= official
    assert sorted(set(comfy_host.pack.NODE_CLASS_MAPPINGS) & official) == []


def test_node_schema_prefix_category_and_names(pack_nodes):
    for s in _schemas(pack_nodes):
        assert s.node_id.startswith("LTX2N") and s.node_id[5:6].isupper(), s.node_id
        assert s.category.startswith("LTX-2 Native/"), (s.node_id, s.category)
        assert s.display_name and "LTX2N" not in s.display_name and "_" not in s.display_name, s.node_id
        assert s.description, f"{s.node_id} has no description"


def test_node_schema_every_display_name_says_ltx2(pack_nodes):
    """A user searching the node menu for "LTX-2" finds every pack node (issue 18: Empty Audio+Video Latent)."""
    assert [s.display_name for s in _schemas(pack_nodes) if "LTX-2" not in s.display_name] == []


def test_node_schema_every_input_has_tooltip(pack_nodes):
    missing = [f"{s.node_id}.{i.id}" for s in _schemas(pack_nodes) for i in s.inputs if not i.tooltip]
    assert missing == []


def test_node_schema_object_info_round_trip(comfy_host):
    info = comfy_host.object_info()
    for node_id in comfy_host.pack.NODE_CLASS_MAPPINGS:
        entry = info[node_id]
        assert entry["category"].startswith("LTX-2 Native/")
        for section in ("required", "optional"):
            for name, spec in entry["input"].get(section, {}).items():
                assert spec[1].get("tooltip"), f"{node_id}.{name} has no tooltip in /object_info"
