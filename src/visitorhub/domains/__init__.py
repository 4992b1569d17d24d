"""One folder per part of the Visitor API."""

from __future__ import annotations

from visitorhub.core.resource import REGISTRY, Resource


def all_resources() -> dict[str, Resource]:
    """Every declared resource by its plural API name; importing the declarations registers them."""
    from visitorhub.domains.centers import resources as _centers  # noqa: F401
    from visitorhub.domains.vehicles import resources as _vehicles  # noqa: F401
    from visitorhub.domains.visitors import resources as _visitors  # noqa: F401

    return dict(REGISTRY)
