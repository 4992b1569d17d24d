"""The README's template examples import new visitors as written: the YAML and XML templates and the rows
shown next to them are read from README.md itself, saved and imported."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from visitorhub.integration.templates import formats

README = Path(__file__).resolve().parents[3] / "README.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _example(contains: str, lang: str) -> tuple[str, str]:
    """The `lang` block holding `contains`, and the first CSV block after it (the rows shown with it)."""
    blocks = [(m.group(1), m.group(2)) for m in BLOCK.finditer(README.read_text(encoding="utf-8"))]
    at = next(i for i, (kind, text) in enumerate(blocks) if kind == lang and contains in text)
    rows = next(text for kind, text in blocks[at + 1 :] if kind == "csv")
    return blocks[at][1], rows


def _rows(text: str, tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "rows.csv"
    path.write_text(text, encoding="utf-8")
    return list(formats.read_rows(path))


@pytest.mark.parametrize(
    ("contains", "lang", "content_type"),
    [("direction: in", "yaml", "application/yaml"), ("<In>", "xml", "application/xml")],
)
def test_the_readme_template_imports_its_rows_as_written(
    client: TestClient, tmp_path: Path, contains: str, lang: str, content_type: str
) -> None:
    template, rows_text = _example(contains, lang)
    saved = client.put(
        f"/integration/templates/readme-{lang}",
        content=template.encode(),
        headers={"Content-Type": content_type},
    )
    assert saved.status_code == 201, saved.text
    rows = _rows(rows_text, tmp_path)
    assert rows
    response = client.post(f"/integration/readme-{lang}", json={"model": rows, "verbose": True})
    assert response.status_code == 200, response.text
    report = response.json()["data"]
    assert report["errors"] == []
    assert report["failed"] == 0
    assert report["summary"]["Visitor"]["inserted"] == len(rows)
    if lang == "yaml":  # the one row with a plate gets its vehicle
        assert report["summary"]["Vehicle"]["inserted"] == 1
    for row in rows:
        email = (row.get("contact.email") or row.get("Email") or "").strip().lower()
        found = client.get("/visitors", params={"email": email}).json()["data"]
        assert [v["email"] for v in found] == [email]
    # Imported again as written: nothing new, nothing failed.
    again = client.post(f"/integration/readme-{lang}", json={"model": rows}).json()["data"]
    assert again["failed"] == 0
    assert again["summary"]["Visitor"]["inserted"] == 0
