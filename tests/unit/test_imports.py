"""The package's structure: no import circles, and planning the DAG imports neither torch nor
scikit-learn (the registries and config checks are plain data)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO

PACKAGE = REPO / "src" / "acom"


def module_imports(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, at module level or inside functions alike
    (``from acom.x import y`` counts as importing ``acom.x.y`` when that is a module, else ``acom.x``)."""
    modules = {}
    for path in package.rglob("*.py"):
        name = ".".join(path.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    edges: dict[str, set[str]] = {name: set() for name in modules}

    def known(candidate: str) -> str | None:
        while candidate and candidate not in modules:
            candidate = candidate.rpartition(".")[0]
        return candidate or None

    for name, path in modules.items():
        package_name = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package_name.split(".")[: len(package_name.split(".")) - node.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            else:
                continue
            for target in targets:
                if (module := known(target)) and module != name:
                    edges[name].add(module)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_planted_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_the_package():
    edges = module_imports(PACKAGE)
    assert "acom.data.soundscapes" in edges["acom.data.desed"]  # the walk sees real imports
    assert cycles(edges) == []


def test_planning_the_dag_imports_neither_torch_nor_sklearn(tmp_path):
    """A dry run of the default grid (the Snakefile, every rules file, the config checks) in a fresh
    interpreter, then a look at what it imported."""
    code = (
        "import sys\n"
        "from snakemake.cli import main\n"
        "try:\n"
        f"    main(['-s', {str(REPO / 'Snakefile')!r}, '--directory', {str(tmp_path)!r}, '-n', '--quiet', 'all'])\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "print(sorted(m for m in ('torch', 'sklearn', 'torchaudio', 'opuslib', 'encodec', 'librosa') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout[-2000:]
