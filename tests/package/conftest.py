import pytest

from pkglib import copy_tree


@pytest.fixture
def tree_copy(tmp_path):
    """A copy of the plugin tree as git sees it, to break on purpose."""
    return copy_tree(tmp_path)
