"""The slots other apps fill: ``insights.tabs`` in the tab bar of every Insights page and
``insights.experience.panels`` on the experience dashboard (with the period in its context)."""

from __future__ import annotations

import copy

import pytest
from django.test import Client

from cx.core import slots


@pytest.fixture
def slot_templates(settings, tmp_path, monkeypatch):
    (tmp_path / "tab.html").write_text('<a class="tab" href="/insights/clv/">CLV</a>')
    (tmp_path / "panel.html").write_text(
        '<section id="test-panel">{{ period_start|date:"Y-m-d" }}/{{ period_end|date:"Y-m-d" }}/{{ request.path }}'
        "</section>")
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [*templates[0].get("DIRS", []), str(tmp_path)]
    settings.TEMPLATES = templates
    monkeypatch.setattr(slots, "_slots", {**slots._slots, "insights.tabs": ["tab.html"],
                                          "insights.experience.panels": ["panel.html"]})


def test_other_apps_tabs_and_panels_render_with_the_period(slot_templates, lead_user):
    client = Client()
    client.force_login(lead_user)
    for path in ("/insights/service/", "/insights/link/", "/insights/digest/"):
        assert 'href="/insights/clv/">CLV</a>' in client.get(path).content.decode()
    html = client.get("/insights/experience/", {"period": "custom", "from": "2024-06-03", "to": "2024-06-09"}
                      ).content.decode()
    assert 'href="/insights/clv/">CLV</a>' in html
    assert '<section id="test-panel">2024-06-03/2024-06-10//insights/experience/</section>' in html
