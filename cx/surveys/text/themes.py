"""Rebuilding the comment themes of the last months from every survey comment."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from cx.surveys.models import Response, Theme
from cx.surveys.text.clustering import cluster_comments

WINDOW = timedelta(days=365)
MAX_COMMENTS = 20_000


@transaction.atomic
def themes_rebuild(*, now: datetime) -> list[Theme]:
    rows = list(Response.objects.filter(started_at__gte=now - WINDOW).exclude(comment="")
                .order_by("-started_at").values_list("pk", "comment")[:MAX_COMMENTS])
    texts = [comment for _, comment in rows]
    from cx.surveys.text.embeddings import embed

    clusters = cluster_comments(texts, embed(texts)) if len(texts) >= 6 else []
    Response.objects.filter(theme__isnull=False).update(theme=None)
    Theme.objects.all().delete()
    themes = []
    for cluster in clusters:
        theme = Theme.objects.create(label=cluster.label, key_terms=cluster.key_terms, size=len(cluster.members),
                                     built_at=now)
        Response.objects.filter(pk__in=[rows[i][0] for i in cluster.members]).update(theme=theme)
        themes.append(theme)
    return themes
