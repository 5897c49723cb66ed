"""The package has no import cycle and every module imports (``tools/import_graph.py`` is the same check)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import load_script

ROOT = Path(__file__).resolve().parents[1]
graph_tool = load_script(ROOT / "tools" / "import_graph.py", "import_graph_tool")


def test_no_import_cycle_in_mst():
    graph = graph_tool.import_graph(ROOT)
    assert "mst.registry" in graph and "mst.models.cyclegan.cyclegan" in graph
    found = graph_tool.cycles(graph_tool._without_package_init_edges(graph))
    assert found == [], f"import cycles: {found}"


def test_cycle_finder_finds_a_planted_cycle():
    planted = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert graph_tool.cycles(planted) == [["a", "b", "c"]]


def test_every_module_imports_in_a_fresh_process():
    modules = sorted(graph_tool.import_graph(ROOT))
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\nprint('ok', len(sys.argv) - 1)"
    out = subprocess.run([sys.executable, "-c", code, *modules], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == f"ok {len(modules)}"


def test_family_folders_are_reached_only_through_the_registry():
    """Outside a family's folder, no module of mst/ (but the registry) imports that family by name."""
    graph = graph_tool.import_graph(ROOT)
    from mst import registry

    families = {f"mst.models.{family.name}" for family in registry.FAMILIES}
    assert {"mst.models.cyclegan", "mst.models.genre_classifier"} <= families
    allowed = {"mst.registry", "mst.demo"}  # the demo and the command lines are applications of the families
    offenders = []
    for module, targets in graph.items():
        if module in allowed or module.startswith("mst.cli.") or any(module == f or module.startswith(f + ".") for f in families):
            continue
        for target in targets:
            if any(target == f or target.startswith(f + ".") for f in families):
                offenders.append(f"{module} -> {target}")
    assert offenders == []
