"""An offline emulator of the entervo infinite Customer & Contract API v2 Consumer API, with fault switches.

It follows shared/docs/external-systems.md §1 (its §1.10 is the contract). Tags below: [DOC] vendor docs,
[BRIEF] the requirement (shared/seeds/entervo-consumer-sync.txt), [CODE] third-party callers, [INF] our
inference, which the real API may contradict:

- Token `POST /auth/realms/{project}/protocol/openid-connect/token`, form `grant_type=client_credentials`,
  `client_id`, `client_secret` → `{access_token, expires_in, token_type: "Bearer", ...}` [DOC]. Wrong
  client → 401 `invalid_client`; other grant → 400 `unsupported_grant_type`; missing grant or a body that
  is not a form → 400 `invalid_request`; unknown realm → 404 `Realm does not exist` (Keycloak) [INF].
  The token is opaque here, not the real RS256 JWT [INF]; `expires_in` is the configured lifetime
  (1800 s by default, as seen on preprod [CODE]) and may be fractional so tests can force expiry [INF].
- Every `/customers-contracts/v2/{project}/...` call needs `Authorization: Bearer`; a missing, unknown or
  expired token, or one issued by another project's realm, is a 401 (we picked 401 over 403) [INF].
- One store per project; no cross-tenant access [DOC].
- `POST .../customers/{customerBusinessId}/consumers/regular/aggregates` creates, or updates in place when
  the project already has that `externalReference` [DOC]. Codes 201 (created) and 200 (updated) [INF];
  a new consumer gets `businessId` `N` + year + 8 alphanumerics and `revision` 0, which every change
  bumps [BRIEF example + INF]. The POST needs no revision [INF]. An upsert from another customer's path
  moves the consumer to that customer [INF]. Unknown customer → 404 [INF].
- `PUT .../aggregates/{consumerBusinessId}` replaces the aggregate (absent fields become null) and needs
  the stored `revision`: another value → 409 and no change; unknown consumer (or one of another
  customer) → 404; an `externalReference` held by another consumer → 409 [BRIEF + INF].
- `GET` and `DELETE` on the same path (200 aggregate; 204, a hard delete that frees the externalReference)
  [INF: paths and semantics undocumented].
- Search `POST /customers-contracts/v2/{project}/consumers` with `{page, size, sortDirection, and:
  {consumer: {consumerEmail, regular: {externalReference}}}}` [BRIEF path and body; §1.6 guessed
  `/consumers/search`, the requirement says `/consumers`]. Filters are exact and combined with AND; null
  or absent = no filter; the e-mail is matched case-insensitively, the reference case-sensitively [INF].
  The answer is a Spring `Page` (`content`, `totalElements`, `totalPages`, `size`, `number`, `first`,
  `last`, `numberOfElements`, `empty`, `sort`, `pageable`), 0-based `page`, `size` 1..100 (default 20),
  ordered by creation, `sortDirection` `ASC` (default) or `DESC` [INF].
- Validation errors are 400 with a Spring Boot error body `{timestamp, status, error, message, path}`
  [INF]: a body that is not a JSON object, a field of the wrong type, an e-mail without `@`, a medium
  whose `type` is not `LICENSEPLATE`, without `value`, with an `encoding` other than `HEX`, or with a
  `licencePlateRegion.country` that is not three letters; a `contract` without `businessId` or with
  `products` that are not strings (or, when the tenant declares its contract, another one) [INF].
- Unknown request fields are ignored; answers carry extra fields (`createdAt`, `modifiedAt`,
  `customerBusinessId`, medium `status`, page `pageable`) so clients prove they tolerate them [DOC S5].
- Mediums keep their `businessId` (`M` + 7 alphanumerics) and `revision` across updates when they carry
  it back or keep their type and value [BRIEF example + INF].
- No rate limit unless a fault is switched on: then 429 with `Retry-After` [INF].

Fault switches (`Emulator` methods, also the `/_emulator/...` control API, which is not part of the real
API and needs no token): the next N answers with a status (429 with `Retry-After`, 503...), added
latency, call counters per kind, remote drift, a revision bump, and expiring every token.

Layout: `validation` (what a body may hold), `store` (one project's consumers and the API's operations),
`state` (tenants, tokens, faults, counters, one lock), `app` (routes and `create_emulator`).
"""

from visitorhub.integration.connectors.entervo.emulator.app import create_emulator
from visitorhub.integration.connectors.entervo.emulator.state import KINDS, Emulator
from visitorhub.integration.connectors.entervo.emulator.store import MAX_PAGE_SIZE, ConsumerStore, Tenant
from visitorhub.integration.connectors.entervo.emulator.validation import ApiError

__all__ = ["KINDS", "MAX_PAGE_SIZE", "ApiError", "ConsumerStore", "Emulator", "Tenant", "create_emulator"]
