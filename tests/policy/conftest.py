"""Fixtures of the policy tests."""

from __future__ import annotations

import pytest
from policy_world import World


@pytest.fixture
def world() -> World:
    return World()
