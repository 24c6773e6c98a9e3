"""No import cycles anywhere in the package: between any two modules, and between the parts
(modules and subpackages) of every package. import-linter's layers contract in pyproject.toml
states the order of the top-level parts; this test reads the same import graph with grimp and
looks for any cycle at all, inside every package. grimp records every import statement, the
ones inside functions (and under TYPE_CHECKING) included, so an import moved into a function
to dodge a cycle at import time is still found."""

from __future__ import annotations

import importlib.util
import textwrap

import pytest

from tests.conftest import require_or_skip


def _grimp():
    require_or_skip(
        importlib.util.find_spec("grimp") is not None, "grimp is not installed (pip install grimp)"
    )
    import grimp

    return grimp


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Cycles found by a depth-first walk: empty exactly when the graph has none."""
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                found.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def _edges_between(graph, modules: list[str]) -> dict[str, set[str]]:
    return {
        a: {
            b
            for b in modules
            if a != b and graph.direct_import_exists(importer=a, imported=b, as_packages=True)
        }
        for a in modules
    }


def module_cycles(graph, root: str) -> list[list[str]]:
    """Cycles between single modules under ``root`` (a package's ``__init__`` counts as one)."""
    modules = {m for m in graph.modules if m == root or m.startswith(root + ".")}
    edges = {m: graph.find_modules_directly_imported_by(m) & modules for m in modules}
    return _cycles(edges)


def package_cycles(graph, root: str, skip: set[str] = frozenset()) -> dict[str, list[list[str]]]:
    """For every package under ``root`` (itself included, those in ``skip`` left out): the
    cycles between its children, each subpackage standing for everything inside it."""
    packages = [
        m
        for m in sorted(graph.modules)
        if (m == root or m.startswith(root + ".")) and graph.find_children(m)
    ]
    found = {}
    for package in packages:
        if package in skip:
            continue
        cycles = _cycles(_edges_between(graph, sorted(graph.find_children(package))))
        if cycles:
            found[package] = cycles
    return found


@pytest.fixture(scope="module")
def graph():
    return _grimp().build_graph("mmstudio")


def test_no_two_modules_import_each_other_even_inside_functions(graph):
    assert "mmstudio.datasets.schema" in graph.modules
    assert module_cycles(graph, "mmstudio") == []


def test_the_parts_of_every_package_import_each_other_without_cycles(graph):
    checked = [m for m in graph.modules if m.startswith("mmstudio") and graph.find_children(m)]
    assert {"mmstudio", "mmstudio.datasets", "mmstudio.gui", "mmstudio.models.zeroshot"} <= set(
        checked
    )
    assert package_cycles(graph, "mmstudio") == {}


def _write_package(root, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_the_check_finds_a_cycle_hidden_in_a_function_and_one_between_subpackages(
    tmp_path, monkeypatch
):
    grimp = _grimp()
    _write_package(
        tmp_path,
        {
            "tinycycles/__init__.py": "",
            "tinycycles/top.py": "from tinycycles.inner import low\n",
            # inner.low imports inner.high at module level; high imports low back, but only
            # inside a function, so importing the package works and the cycle stays hidden.
            "tinycycles/inner/__init__.py": "",
            "tinycycles/inner/low.py": "from tinycycles.inner import high\n",
            "tinycycles/inner/high.py": """
                def load():
                    from tinycycles.inner.low import thing

                    return thing
            """,
            # left.a imports right.b, and right.c imports left.d: no two modules form a cycle,
            # but the two subpackages import each other.
            "tinycycles/left/__init__.py": "",
            "tinycycles/left/a.py": "import tinycycles.right.b\n",
            "tinycycles/left/d.py": "",
            "tinycycles/right/__init__.py": "",
            "tinycycles/right/b.py": "",
            "tinycycles/right/c.py": "def f():\n    import tinycycles.left.d\n",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    tiny = grimp.build_graph("tinycycles", cache_dir=None)
    assert module_cycles(tiny, "tinycycles") == [
        ["tinycycles.inner.high", "tinycycles.inner.low", "tinycycles.inner.high"]
    ]
    assert package_cycles(tiny, "tinycycles") == {
        "tinycycles": [["tinycycles.left", "tinycycles.right", "tinycycles.left"]],
        "tinycycles.inner": [
            ["tinycycles.inner.high", "tinycycles.inner.low", "tinycycles.inner.high"]
        ],
    }
    assert package_cycles(tiny, "tinycycles", skip={"tinycycles"}) == {
        "tinycycles.inner": [
            ["tinycycles.inner.high", "tinycycles.inner.low", "tinycycles.inner.high"]
        ]
    }

    # The same package with both back-imports taken out passes.
    (tmp_path / "tinycycles/inner/high.py").write_text("")
    (tmp_path / "tinycycles/right/c.py").write_text("")
    fixed = grimp.build_graph("tinycycles", cache_dir=None)
    assert module_cycles(fixed, "tinycycles") == [] and package_cycles(fixed, "tinycycles") == {}
    assert fixed.direct_import_exists(
        importer="tinycycles.inner.low", imported="tinycycles.inner.high"
    )


def test_the_registry_imports_no_backend(graph):
    imported = graph.find_modules_directly_imported_by("mmstudio.models.registry")
    assert {m for m in imported if m.startswith("mmstudio.")} == {"mmstudio.inputs.errors"}


def test_explain_and_models_share_the_typed_outputs_without_importing_each_other(graph):
    assert not graph.direct_import_exists(
        importer="mmstudio.explain", imported="mmstudio.models", as_packages=True
    )
    for package in ("mmstudio.explain", "mmstudio.models"):
        assert graph.direct_import_exists(
            importer=package, imported="mmstudio.model_outputs", as_packages=True
        )
