"""Declaration of the credit-cards resource."""

from __future__ import annotations

from visitorhub.core.resource import Resource
from visitorhub.domains.credit_cards.schemas import CreditCardCreate, CreditCardRead, CreditCardUpdate
from visitorhub.domains.credit_cards.service import CreditCardService
from visitorhub.models import CreditCard

credit_cards = Resource(
    name="credit-cards",
    entity="CreditCard",
    model=CreditCard,
    read=CreditCardRead,
    create=CreditCardCreate,
    update=CreditCardUpdate,
    service_class=CreditCardService,
    parent="visitors",
    key="cardId",
    soft_delete="deletionDate",
    sortable=("creationDate", "updateDate", "year", "month"),
    operations={"create": 61, "list": 62, "get": 63, "update": 64, "delete": 65},
    descriptions={
        "create": "Tokenized cards only: a body holding a full card number (13-19 digits passing the Luhn "
        "check) in any field is refused (422 naming the field). goodThru is MM/YYYY from month and year. "
        "paymentMethodToken is sealed at rest when VISITORHUB_SECRETS_KEY is set and never written to the "
        "change log (change records carry it as null).",
        "delete": "Soft delete: sets deletionDate; listed again with includeDeleted=true.",
    },
    example={
        "firstName": "Mark",
        "lastName": "Smith",
        "postalCode": "75000",
        "serviceTypes": ["parking"],
        "year": 2030,
        "month": 11,
        "fingerprint": "fp-4f1c2e",
        "cardType": "visa",
        "firstSixDigits": "411111",
        "lastFourDigits": "1111",
        "paymentMethodToken": "2kk1wXpfeVrzHJI6LfoOomX1yr1",
    },
    example_update={"month": 12, "year": 2031},
)
