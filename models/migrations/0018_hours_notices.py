from decimal import Decimal

from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0017_messages")]

    initial = False

    operations = [
        ops.CreateModel(
            name="HourRequest",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "task",
                    fields.ForeignKeyField(
                        "models.Task",
                        source_field="task_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="hour_requests",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="hour_requests",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("started_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("ended_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("hours", fields.DecimalField(default=Decimal("0"), max_digits=6, decimal_places=2)),
                ("note", fields.CharField(default="", max_length=200)),
                ("status", fields.CharField(default="pending", db_index=True, max_length=16)),
                ("open_key", fields.CharField(null=True, unique=True, max_length=32)),
                ("reason", fields.CharField(null=True, max_length=200)),
                ("awarded_hours", fields.DecimalField(default=Decimal("0"), max_digits=6, decimal_places=2)),
                ("awarded_points", fields.IntField(default=0)),
                (
                    "reviewed_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="reviewed_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="hour_reviews",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("reviewed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "hour_requests",
                "app": "models",
                "pk_attr": "id",
                "table_description": "One person's claim of hours served on a task that no check-in and check-out recorded.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="HourRequestMedia",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "request",
                    fields.ForeignKeyField(
                        "models.HourRequest",
                        source_field="request_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="photos",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "media",
                    fields.ForeignKeyField(
                        "models.Media",
                        source_field="media_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="hour_request_uses",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("position", fields.IntField()),
            ],
            options={"table": "hour_request_media", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Notice",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("title", fields.CharField(max_length=64)),
                ("content", fields.TextField(unique=False)),
                (
                    "org",
                    fields.ForeignKeyField(
                        "models.Org",
                        source_field="org_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="notices",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "campaign",
                    fields.ForeignKeyField(
                        "models.Campaign",
                        source_field="campaign_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="notices",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("roles", fields.CharField(null=True, max_length=64)),
                (
                    "author",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="author_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="notices_written",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("recipients", fields.IntField(default=0)),
                ("created_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "notices",
                "app": "models",
                "pk_attr": "id",
                "table_description": "What staff wrote and to whom: the org subtree, or a campaign's enrolled people, optionally some roles.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="NoticeRecipient",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "notice",
                    fields.ForeignKeyField(
                        "models.Notice",
                        source_field="notice_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="deliveries",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="notices",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("read_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "notice_recipients",
                "app": "models",
                "unique_together": (("notice", "user"),),
                "indexes": [Index(fields=["user_id", "read_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Certificate",
            name="activities",
            field=fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name="Certificate",
            name="contact",
            field=fields.CharField(default="", max_length=64),
        ),
        ops.AddField(
            model_name="Certificate",
            name="credit_hours",
            field=fields.DecimalField(default=Decimal("0"), max_digits=10, decimal_places=2),
        ),
        ops.AddField(
            model_name="Certificate",
            name="handler",
            field=fields.CharField(default="", max_length=32),
        ),
        ops.AddField(
            model_name="Certificate",
            name="honour_hours",
            field=fields.DecimalField(default=Decimal("0"), max_digits=10, decimal_places=2),
        ),
        ops.AddField(
            model_name="Certificate",
            name="leader",
            field=fields.CharField(default="", max_length=32),
        ),
        ops.AddField(
            model_name="Enrollment",
            name="checked_out_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="Enrollment",
            name="checkout_distance_m",
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name="Enrollment",
            name="checkout_method",
            field=fields.CharField(null=True, max_length=8),
        ),
        ops.AddField(
            model_name="Enrollment",
            name="checkout_reminded_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="LedgerEntry",
            name="hours_kind",
            field=fields.CharField(default="credit", max_length=8),
        ),
        ops.AddField(
            model_name="Org",
            name="cert_contact",
            field=fields.CharField(default="", max_length=64),
        ),
        ops.AddField(
            model_name="Org",
            name="cert_handler",
            field=fields.CharField(default="", max_length=32),
        ),
        ops.AddField(
            model_name="Org",
            name="cert_leader",
            field=fields.CharField(default="", max_length=32),
        ),
        ops.AddField(
            model_name="Task",
            name="checkout_required",
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name="User",
            name="honour_hours",
            field=fields.DecimalField(default=Decimal("0"), max_digits=10, decimal_places=2),
        ),
    ]
