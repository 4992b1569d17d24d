"""Field lists as the seed names them, and error assertions shared by the visitors tests."""

from __future__ import annotations

from typing import Any

import httpx

VISITOR_FIELDS = {
    "lastVisitDate", "addressCity", "addressStreet", "addressState", "lastName", "firstName", "email", "gender",
    "phone", "mobileLocale", "addressZipCode", "timezone", "billingAddress", "billingAddress2", "billingZipCode",
    "billingCity", "billingCountryCode", "acquisitionPcCode", "emailVerified", "emailInvalid", "phoneVerified",
    "phoneInvalid", "countryCode", "birthDay", "birthMonth", "birthYear", "creationDate", "updateDate",
    "accountType", "visitorId", "registrationDate", "barcode", "originType", "origin", "upgradePcCode",
}  # fmt: skip

EXTERNAL_ID_FIELDS = {"externalId", "visitorId", "externalType", "pcCode", "creationDate", "updateDate"}

OPTIN_FIELDS = {
    "clientId", "sendId", "optinChannel", "optinType", "legalTextId", "isActive", "lastOpenedDate", "contextId",
    "optinId", "visitorId", "optoutDate", "optinDate", "creationDate", "updateDate",
}  # fmt: skip

VISITOR_CENTER_FIELDS = {
    "visitorCenterId", "visitorId", "pcCode", "favoriteDate", "isTlp", "isFavorite", "isSmartparker",
    "centerCompanyId", "creationDate", "updateDate",
}  # fmt: skip

VEHICLE_FIELDS = {
    "vehicleId", "visitorId", "deletionDate", "name", "maker", "color", "model", "licensePlate",
    "licensePlateCountry", "yearOfManufacture", "lastParkingSession", "creationDate", "updateDate",
}  # fmt: skip

DETAILS_COLLECTIONS = {"externalIds", "optins", "rewards", "visitorCenters", "vehicles", "creditCards"}

UNKNOWN_VISITOR = "00000000-0000-4000-8000-000000000000"

# The seed's request sample for "Add a new visitor", every field given.
SEED_VISITOR: dict[str, Any] = {
    "lastVisitDate": "2017-07-24T17:32:28.000Z",
    "addressCity": "Paris",
    "addressStreet": "3 rue de Paris",
    "addressState": "Texas",
    "lastName": "Smith",
    "firstName": "John",
    "email": "tom@jerry.com",
    "gender": "m",
    "phone": "33631573042",
    "mobileLocale": "FR",
    "addressZipCode": "75000",
    "timezone": "Europe/Paris",
    "billingAddress": "123 Billing St",
    "billingAddress2": "Apt 4B",
    "billingZipCode": "12345",
    "billingCity": "Billing City",
    "billingCountryCode": "FR",
    "acquisitionPcCode": "FR-SC-123",
    "emailVerified": True,
    "emailInvalid": True,
    "phoneVerified": True,
    "phoneInvalid": True,
    "countryCode": "FR",
    "birthDay": 31,
    "birthMonth": 8,
    "birthYear": 1998,
    "optins": [
        {
            "clientId": "string",
            "sendId": "string",
            "optinChannel": "sms",
            "optinType": "commercial",
            "legalTextId": 0,
            "isActive": True,
            "lastOpenedDate": "2019-08-24T14:15:22Z",
            "contextId": 0,
        }
    ],
}


def assert_error(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """`response` is an error envelope with `status` whose first error names `field`; returns that error."""
    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert errors, response.text
    for error in errors:
        assert set(error) == {"code", "type", "field", "message"}, error
    if field is not None:
        assert errors[0]["field"] == field, response.text
    return errors[0]  # type: ignore[no-any-return]


def ids(response: httpx.Response, key: str = "visitorId") -> list[str]:
    assert response.status_code == 200, response.text
    return [item[key] for item in response.json()["data"]]
