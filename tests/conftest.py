"""Shared fixtures. Tests that need a system component skip with a reason on a bare
machine, and fail instead when MMSTUDIO_REQUIRE_ALL=1 (CI sets it)."""

from __future__ import annotations

import os

import pytest

REQUIRE_ALL = os.environ.get("MMSTUDIO_REQUIRE_ALL") == "1"


def require_or_skip(available: bool, reason: str) -> None:
    """Skip when a system component is missing, unless CI demands everything."""
    if available:
        return
    if REQUIRE_ALL:
        pytest.fail(f"required component missing (MMSTUDIO_REQUIRE_ALL=1): {reason}")
    pytest.skip(reason)
