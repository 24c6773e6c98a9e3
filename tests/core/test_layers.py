"""No import cycles: between the package's top-level modules, and between the registry and the
model backends (import-linter's layers contract in pyproject.toml states the order; this test
reads the same import graph with grimp and looks for any cycle at all)."""

from __future__ import annotations

import pytest

from tests.conftest import require_module

grimp = require_module("grimp")


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
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


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("mmstudio")


def test_the_top_level_modules_import_each_other_without_cycles(graph):
    modules = sorted(graph.find_children("mmstudio"))
    assert "mmstudio.model_outputs" in modules and "mmstudio.studio" in modules
    assert _cycles(_edges_between(graph, modules)) == []


def test_the_registry_imports_no_backend(graph):
    imported = graph.find_modules_directly_imported_by("mmstudio.models.registry")
    assert {m for m in imported if m.startswith("mmstudio.")} == {"mmstudio.inputs.errors"}
    models = sorted(graph.find_children("mmstudio.models"))
    assert _cycles(_edges_between(graph, models)) == []


def test_explain_and_models_share_the_typed_outputs_without_importing_each_other(graph):
    assert not graph.direct_import_exists(
        importer="mmstudio.explain", imported="mmstudio.models", as_packages=True
    )
    for package in ("mmstudio.explain", "mmstudio.models"):
        assert graph.direct_import_exists(
            importer=package, imported="mmstudio.model_outputs", as_packages=True
        )
