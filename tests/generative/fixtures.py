"""Tiny generative model folders, built once per test session and shared by every test (the
fixtures are imported by tests/conftest.py, so tests anywhere under tests/ can use them).

A folder is built the first time a test asks for its family, so a run that touches one
family builds one. The hub stays offline for the whole session: the folders must load from
disk alone, as a user's downloaded folder does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.generative.tiny_models import FAMILIES


class TinyModelFolders:
    """A lazy mapping from family name to its built folder."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._built: dict[str, Path] = {}

    def __getitem__(self, family: str) -> Path:
        if family not in FAMILIES:
            raise KeyError(f"no tiny model family {family!r}; known: {sorted(FAMILIES)}")
        if family not in self._built:
            self._built[family] = FAMILIES[family](self._root / family)
        return self._built[family]

    def __iter__(self) -> Iterator[str]:
        return iter(FAMILIES)

    def __len__(self) -> int:
        return len(FAMILIES)


@pytest.fixture(scope="session")
def hub_offline() -> Iterator[None]:
    """Hugging Face offline for the session (a session fixture cannot take `monkeypatch`)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        # float32 without the dtype probe: the numbers compare with transformers' own, and
        # the measured choice has its own tests (tests/core/test_generative_folders.py).
        patch.setenv("MMSTUDIO_CPU_DTYPE", "float32")
        yield


@pytest.fixture(scope="session")
def tiny_model_folders(tmp_path_factory, hub_offline) -> TinyModelFolders:
    return TinyModelFolders(tmp_path_factory.mktemp("tiny_models"))


@pytest.fixture
def tiny_model(tiny_model_folders) -> Callable[[str], Path]:
    """``tiny_model("qwen2_vl")`` -> the family's folder, built on first use."""
    return tiny_model_folders.__getitem__
