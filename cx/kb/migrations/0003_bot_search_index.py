"""Index the articles that exist before KB search moved onto the hybrid engine (cx.search collection "kb"),
so an upgraded database finds them at once. New and changed articles are indexed by the kb services."""

from django.db import migrations


def index_articles(apps, schema_editor):
    from cx.search.services import DocumentIn, search_documents_upsert

    Article = apps.get_model("kb", "Article")
    batch = []
    for article in Article.objects.all().iterator():
        batch.append(DocumentIn(doc_id=f"article-{article.pk}", title=article.title, text=article.body_text,
                                filters={"locale": article.locale.lower(), "status": article.status,
                                         "visibility": "internal" if article.is_internal else "public"}))
        if len(batch) >= 500:
            search_documents_upsert(collection="kb", documents=batch)
            batch = []
    if batch:
        search_documents_upsert(collection="kb", documents=batch)


class Migration(migrations.Migration):
    dependencies = [
        ("kb", "0002_full_text_search"),
        ("search", "0001_initial"),
    ]

    operations = [migrations.RunPython(index_articles, migrations.RunPython.noop)]
