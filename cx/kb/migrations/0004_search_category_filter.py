"""Re-index the articles with the ``category`` filter that KB search now applies inside the hybrid engine (the
help center's category-scoped search); articles indexed by 0003 or earlier code do not carry it."""

from django.db import migrations


def index_articles(apps, schema_editor):
    from cx.search.services import DocumentIn, search_documents_upsert

    Article = apps.get_model("kb", "Article")
    batch = []
    for article in Article.objects.select_related("section").order_by("pk").iterator(chunk_size=500):
        batch.append(DocumentIn(doc_id=f"article-{article.pk}", title=article.title, text=article.body_text,
                                filters={"locale": article.locale.lower(), "status": article.status,
                                         "visibility": "internal" if article.is_internal else "public",
                                         "category": str(article.section.category_id)}))
        if len(batch) >= 500:
            search_documents_upsert(collection="kb", documents=batch)
            batch = []
    if batch:
        search_documents_upsert(collection="kb", documents=batch)


class Migration(migrations.Migration):
    dependencies = [
        ("kb", "0003_bot_search_index"),
    ]

    operations = [migrations.RunPython(index_articles, migrations.RunPython.noop)]
