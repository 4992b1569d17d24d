"""Centre companies (catalogue seq 96-100): under a centre, names unique per centre, PUT replaces, and a
company in use by visitor-centres is not deleted."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import changes, create_center, create_visitor


def _company(client: TestClient, pc_code: str, name: str = "adidas") -> dict[str, Any]:
    response = client.post(f"/centers/{pc_code}/companies", json={"companyName": name})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def test_company_lives_under_its_centre(client: TestClient) -> None:
    center = create_center(client)
    other = create_center(client)
    company = _company(client, center["pcCode"])
    assert set(company) == {"companyName", "creationDate", "updateDate", "centerCompanyId", "pcCode"}
    assert company["pcCode"] == center["pcCode"]
    url = f"/centers/{center['pcCode']}/companies/{company['centerCompanyId']}"
    assert client.get(url).json()["data"] == company
    # Another centre's path does not reach it; an unknown centre is a 404 naming pcCode.
    assert client.get(f"/centers/{other['pcCode']}/companies/{company['centerCompanyId']}").status_code == 404
    missing = client.post("/centers/NO-SUCH/companies", json={"companyName": "x"})
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["field"] == "pcCode"


def test_names_are_unique_per_centre_whatever_the_case(client: TestClient) -> None:
    center = create_center(client)
    other = create_center(client)
    _company(client, center["pcCode"], "Adidas")
    clash = client.post(f"/centers/{center['pcCode']}/companies", json={"companyName": "ADIDAS"})
    assert clash.status_code == 409
    assert clash.json()["errors"][0]["field"] == "companyName"
    _company(client, other["pcCode"], "Adidas")


def test_put_replaces_the_name(client: TestClient) -> None:
    center = create_center(client)
    company = _company(client, center["pcCode"])
    url = f"/centers/{center['pcCode']}/companies/{company['centerCompanyId']}"
    response = client.put(url, json={"companyName": "Adidas France"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["companyName"] == "Adidas France"
    assert client.put(url, json={}).status_code == 422
    assert client.patch(url, json={"companyName": "x"}).status_code == 405
    logged = [c["operation"] for c in changes(client, entity="CenterCompany")]
    assert logged == ["create", "update"]


def test_a_company_in_use_is_not_deleted(client: TestClient) -> None:
    center = create_center(client)
    company = _company(client, center["pcCode"])
    visitor = create_visitor(client)
    link = client.post(
        f"/visitors/{visitor['visitorId']}/centers",
        json={"pcCode": center["pcCode"], "isFavorite": True, "centerCompanyId": company["centerCompanyId"]},
    )
    assert link.status_code == 201, link.text
    url = f"/centers/{center['pcCode']}/companies/{company['centerCompanyId']}"
    refused = client.delete(url)
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["field"] == "centerCompanyId"

    cleared = client.patch(
        f"/visitors/{visitor['visitorId']}/centers/{center['pcCode']}", json={"centerCompanyId": None}
    )
    assert cleared.status_code == 200, cleared.text
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
