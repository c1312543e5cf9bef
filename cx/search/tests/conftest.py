import pytest

from cx.search.engine import forget_indexes


@pytest.fixture(autouse=True)
def search_index_dir(settings, tmp_path):
    """Each test gets its own on-disk index directory and a process without cached indexes."""
    settings.SEARCH_INDEX_DIR = str(tmp_path / "search-index")
    forget_indexes()
    yield tmp_path / "search-index"
    forget_indexes()
