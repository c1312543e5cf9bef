"""Fixtures for knowledge-base tests: a category with a section, and an article factory."""

from __future__ import annotations

import pytest

from cx.accounts.models import Role
from cx.kb import services
from cx.search.engine import forget_indexes


@pytest.fixture(autouse=True)
def _kb_search_index(settings, tmp_path):
    """KB search runs on the hybrid engine: each test gets its own index directory."""
    settings.SEARCH_INDEX_DIR = str(tmp_path / "search-index")
    forget_indexes()
    yield
    forget_indexes()


@pytest.fixture
def editor(make_user):
    return make_user(Role.AGENT, "edna")


@pytest.fixture
def section(editor):
    category = services.category_create(actor=editor, name="Billing", slug="billing")
    return services.section_create(actor=editor, category_id=category.pk, name="Payments", slug="payments")


@pytest.fixture
def make_article(editor, section):
    def _make(title: str = "Reset your password", body: str = "Open **Settings** and choose *Reset password*.",
              *, status: str = "published", is_internal: bool = False, locale: str = "en", tags=None):
        article = services.article_create(actor=editor, section_id=section.pk, title=title, body_markdown=body,
                                          locale=locale, is_internal=is_internal, tags=tags)
        if status != "draft":
            article = services.article_set_status(actor=editor, article=article, status=status)
        return article

    return _make
