"""The local service's routes, one router per part of the REST contract.

- :mod:`.batches` — submit (idempotent), estimate, list, read, summarise and cancel batches;
- :mod:`.jobs` — the generators and their metadata, the account's jobs and previews, usage;
- :mod:`.account` — the sample balance (extension);
- :mod:`.results` — the signed result URLs, and the service's root.

:mod:`.common` holds what they share (the state, auth, the error answer, JSON replies) and
:mod:`.models` the contract's bodies as pydantic models.
"""
