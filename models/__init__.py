"""The domain: Tortoise models and the operations that keep their invariants.

No HTTP here. ``MODEL_MODULES`` is what the ORM loads; migrations live in
``models/migrations`` and are made with ``tortoise makemigrations``.
"""

MODEL_MODULES = [
    "models.orgs",
    "models.users",
    "models.campaigns",
    "models.idempotency",
    "models.media",
    "models.submissions",
    "models.ledger",
    "models.notifications",
    "models.audit",
    "models.certificates",
    "models.org_requests",
    "models.console",
    "models.quiz",
    "models.accounts",
    "models.submission_links",
    "models.reach",
    "models.sharing",
    "models.calendar",
    "models.messages",
    "models.hour_requests",
    "models.notices",
]
