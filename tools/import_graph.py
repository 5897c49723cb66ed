"""Prints mst's internal import graph and its cycles (exit status 1 if there is a cycle).

Reads the source with :mod:`ast` (nothing is imported or run), so it also sees imports inside
functions, which is where cycles usually hide. ``python tools/import_graph.py --edges`` prints every
edge; without it, one line per module with its mst imports, then the cycles.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph(root: Path = ROOT, package: str = "mst") -> dict[str, set[str]]:
    """``{module: {mst modules it imports}}`` for every module of ``package`` under ``root``."""
    files = sorted((root / package).rglob("*.py"))
    modules = {module_name(f, root): f for f in files}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, node, path.name == "__init__.py")
                names = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for name in names:
                # the longest known module that the imported name starts with
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name and name != module:
                    targets.add(name)
        graph[module] = targets
    # a package's import of its own submodule is not a dependency of that package on itself
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    sys.setrecursionlimit(10000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(result)


def _without_package_init_edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Drops edges from a package ``__init__`` to its own submodules (re-exports, not cycles)."""
    return {m: {t for t in targets if not t.startswith(m + ".")} for m, targets in graph.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edges", action="store_true", help="print every edge")
    args = parser.parse_args(argv)
    graph = import_graph()
    for module in sorted(graph):
        targets = sorted(graph[module])
        if args.edges:
            for target in targets:
                print(f"{module} -> {target}")
        else:
            print(f"{module}: {', '.join(targets) or '-'}")
    found = cycles(_without_package_init_edges(graph))
    print(f"\n{len(graph)} modules, {sum(len(t) for t in graph.values())} edges, {len(found)} cycle(s)")
    for component in found:
        print("cycle: " + " <-> ".join(component))
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
