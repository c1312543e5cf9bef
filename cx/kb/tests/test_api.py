"""The knowledge-base API with personal tokens: CRUD, publish, versions with diff and restore, translations,
attachments, search; errors in the one shape; token scopes respected."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_client, token_for, editor):
    return api_client(token_for(editor))


def test_article_lifecycle_through_the_api(api, section):
    created = api.post("/api/v1/kb/articles", {"section_id": section.pk, "title": "Export data",
                                               "body_markdown": "Go to *Settings*", "tags": ["data"]})
    assert created.status_code == 201, created.content
    article = created.json()
    assert article["status"] == "draft" and article["body_html"] == "<p>Go to <em>Settings</em></p>\n"
    assert article["public_url"] is None
    published = api.post(f"/api/v1/kb/articles/{article['id']}/publish").json()
    assert published["public_url"] == "/help/en/billing/export-data/"
    patched = api.patch(f"/api/v1/kb/articles/{article['id']}", {"body_markdown": "Go to Account", "note": "moved"})
    assert patched.json()["version"] == 2
    versions = api.get(f"/api/v1/kb/articles/{article['id']}/versions").json()
    assert [v["number"] for v in versions] == [2, 1] and versions[0]["note"] == "moved"
    diff = api.get(f"/api/v1/kb/articles/{article['id']}/versions/1/diff").json()
    assert {"kind": "add", "text": "Go to Account"} in diff["lines"]
    restored = api.post(f"/api/v1/kb/articles/{article['id']}/versions/1/restore").json()
    assert restored["version"] == 3 and restored["body_markdown"] == "Go to *Settings*"
    variant = api.post(f"/api/v1/kb/articles/{article['id']}/translations", {"locale": "fr", "title": "Exporter"})
    assert variant.status_code == 201 and variant.json()["source_id"] == article["id"]
    hits = api.get("/api/v1/kb/search", q="settings").json()
    assert hits[0]["id"] == article["id"]
    assert api.get("/api/v1/kb/search", q="settings", category_id=section.category_id).json()[0]["id"] == article["id"]
    assert api.get("/api/v1/kb/search", q="settings", category_id=section.category_id + 1000).json()["error"][
        "fields"] == {"category_id": "unknown category"}
    listing = api.get("/api/v1/kb/articles", locale="fr").json()
    assert [a["title"] for a in listing] == ["Exporter"]
    archived = api.post(f"/api/v1/kb/articles/{article['id']}/status", {"status": "archived"}).json()
    assert archived["status"] == "archived"
    assert api.delete(f"/api/v1/kb/articles/{article['id']}").status_code == 204


def test_errors_have_one_shape_and_change_nothing(api, section):
    missing = api.post("/api/v1/kb/articles", {"section_id": section.pk, "title": ""})
    assert missing.status_code == 422 and missing.json()["error"]["fields"] == {"title": "required"}
    unknown = api.post("/api/v1/kb/articles", {"section_id": section.pk, "title": "x", "colour": "red"})
    assert unknown.status_code == 422 and "colour" in str(unknown.json()["error"]["fields"])
    assert api.get("/api/v1/kb/articles/999999").status_code == 404
    assert api.get("/api/v1/kb/search", q="").status_code == 422
    assert api.get("/api/v1/kb/search", q="y" * 300).json()["error"]["fields"]["q"] == "at most 200 characters"
    assert api.get("/api/v1/kb/articles").json() == []


def test_read_tokens_cannot_write_and_anonymous_requests_are_refused(api_client, token_for, editor, section):
    reader = api_client(token_for(editor, "read"))
    assert reader.post("/api/v1/kb/articles", {"section_id": section.pk, "title": "x"}).status_code == 403
    assert reader.get("/api/v1/kb/categories").status_code == 200
    assert Client().get("/api/v1/kb/articles").status_code == 401


def test_categories_sections_and_attachments(api, editor, token_for):
    category = api.post("/api/v1/kb/categories", {"name": "Account"}).json()
    section = api.post("/api/v1/kb/sections", {"category_id": category["id"], "name": "Login"}).json()
    assert api.get("/api/v1/kb/categories").json()[0]["sections"][0]["slug"] == "login"
    article = api.post("/api/v1/kb/articles", {"section_id": section["id"], "title": "2FA"}).json()
    client = Client()
    upload = client.post(f"/api/v1/kb/articles/{article['id']}/attachments",
                         {"file": SimpleUploadedFile("qr.png", b"\x89PNG", "image/png")},
                         headers={"Authorization": f"Bearer {token_for(editor)}"})
    assert upload.status_code == 201 and upload.json()["url"].endswith("/qr.png")
    assert api.delete(f"/api/v1/kb/categories/{category['id']}").status_code == 409
    assert api.delete(f"/api/v1/kb/attachments/{upload.json()['id']}").status_code == 204


def test_the_self_service_report(api, client, make_article):
    article = make_article()
    client.get("/help/en/search/", {"q": "password"})
    client.get("/help/en/search/", {"q": "unicorn"})
    client.post(f"/help/en/billing/{article.slug}/feedback/", {"helpful": "yes"})
    figures = api.get("/api/v1/kb/report", days=7).json()
    assert (figures["searches"], figures["searches_without_results"], figures["helpful"]) == (2, 1, 1)
    assert figures["no_result_queries"] == [{"query": "unicorn", "count": 1}]
    assert api.get("/api/v1/kb/report", days=0).status_code == 422
