"""Declaration of the rewards resource."""

from __future__ import annotations

from visitorhub.core.resource import Filter, Imports, Resource, equals
from visitorhub.domains.rewards.schemas import RewardCreate, RewardRead, RewardUpdate
from visitorhub.domains.rewards.service import RewardService
from visitorhub.models import Reward

rewards = Resource(
    name="rewards",
    entity="Reward",
    model=Reward,
    read=RewardRead,
    create=RewardCreate,
    update=RewardUpdate,
    service_class=RewardService,
    parent="visitors",
    key="rewardId",
    # isConverted: the reward was converted from another programme, i.e. it has an upgradedFrom.
    derived={"is_converted": ("upgraded_from", lambda _value: True)},
    references={"pcCode": "centers"},
    sortable=("creationDate", "updateDate", "startDate", "endDate", "balance", "lastPurchaseDate"),
    filters=(Filter("pcCode", str, equals(Reward.pc_code), "PC Code"),),
    operations={"create": 92, "list": 93, "update": 94, "get": 95},
    descriptions={"update": "outsideOptin is required, as in the seed; pcCode cannot change."},
    imports=Imports(),
    example={
        "pcCode": "FR-SC-123",
        "startDate": "2026-01-01T00:00:00Z",
        "balance": 31.4,
        "outsideOptin": True,
        "threshold": 2,
    },
    example_update={"outsideOptin": False, "balance": 12.5},
)
