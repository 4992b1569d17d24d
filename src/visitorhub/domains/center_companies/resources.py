"""Declaration of the center-companies resource (companies hang from a centre)."""

from __future__ import annotations

from visitorhub.core.resource import Resource, Unique
from visitorhub.domains.center_companies.schemas import CenterCompanyCreate, CenterCompanyRead
from visitorhub.domains.center_companies.service import CenterCompanyService
from visitorhub.models import CenterCompany

center_companies = Resource(
    name="center-companies",
    entity="CenterCompany",
    model=CenterCompany,
    read=CenterCompanyRead,
    create=CenterCompanyCreate,
    service_class=CenterCompanyService,
    parent="centers",
    path="/centers/{pcCode}/companies",
    key="centerCompanyId",
    unique=(
        Unique(
            ("pcCode", "companyName"),
            lower=True,
            message="Center {pcCode} already has a company named {companyName}.",
        ),
    ),
    sortable=("creationDate", "updateDate", "companyName"),
    operations={"create": 96, "list": 97, "get": 98, "delete": 100},
    descriptions={"delete": "Refused (409) while visitor-centres name the company as theirs."},
    example={"companyName": "adidas"},
    example_update={"companyName": "Adidas France"},
)
center_company_service = center_companies.service_as(CenterCompanyService)
