from datetime import timedelta

from django.template.loader import render_to_string
from django.test import RequestFactory

from cx.core.tables import Column, DataTable, table_csv, table_export_response


def _table(rows):
    return DataTable(slug="agents", title="Agents", rows=rows, columns=[
        Column("name", "Agent"), Column("frt", "First response", "duration", numeric=True),
        Column("csat", "CSAT", "pct", numeric=True)])


def test_csv_has_the_same_formatted_cells_as_the_screen():
    table = _table([{"name": "Ana", "frt": timedelta(minutes=90), "csat": 87.456},
                    {"name": "Bo", "frt": 30, "csat": None}])
    assert table_csv(table).splitlines() == ["Agent,First response,CSAT", "Ana,1.5h,87.5%", "Bo,30s,no data"]
    request = RequestFactory().get("/dash/", {"period": "30d"})
    html = render_to_string("core/partials/data_table.html", {"table": table}, request=request)
    assert "1.5h" in html and "87.5%" in html and "no data" in html
    assert "?period=30d&amp;export=agents" in html


def test_empty_table_says_no_data_and_export_by_slug():
    request = RequestFactory().get("/dash/", {"export": "agents"})
    html = render_to_string("core/partials/data_table.html", {"table": _table([])}, request=request)
    assert "No data for this period." in html and "Export CSV" not in html
    response = table_export_response(request, [_table([{"name": "Ana", "frt": 5, "csat": 100}])])
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert table_export_response(RequestFactory().get("/dash/", {"export": "nope"}), [_table([])]).status_code == 404
    assert table_export_response(RequestFactory().get("/dash/"), [_table([])]) is None
