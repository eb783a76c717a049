"""Fixtures shared by the campaign, task and enrollment tests."""

import pytest

from tests.factories import Tree, org_tree


@pytest.fixture
async def tree(api) -> Tree:
    """祁东县-style tree: a county, two townships (east, west), a village under each."""
    return await org_tree()


@pytest.fixture
async def staff(api, tree) -> str:
    """A signed-in staff member of the east township."""
    token, _ = await api.person("staff", tree.east.id)
    return token
