from decimal import Decimal

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Campaign",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("title", fields.CharField(max_length=100)),
                ("kind", fields.CharField(max_length=32)),
                ("description", fields.TextField(default="", unique=False)),
                (
                    "org",
                    fields.ForeignKeyField(
                        "models.Org",
                        source_field="org_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="campaigns",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("starts_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("ends_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("cover_media_id", fields.CharField(null=True, max_length=64)),
                ("status", fields.CharField(default="draft", db_index=True, max_length=16)),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="created_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="campaigns_created",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ("published_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "campaigns", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="IdempotencyRecord",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="idempotency_records",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("key", fields.CharField(max_length=64)),
                ("route", fields.CharField(max_length=200)),
                ("status", fields.IntField(null=True)),
                ("body", fields.BinaryField(null=True)),
                ("created_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "idempotency_records",
                "app": "models",
                "unique_together": (("user", "key"),),
                "pk_attr": "id",
                "table_description": "The first answer to a retried write, replayed for the same user and key.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Task",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "campaign",
                    fields.ForeignKeyField(
                        "models.Campaign",
                        source_field="campaign_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="tasks",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("title", fields.CharField(max_length=100)),
                ("description", fields.TextField(default="", unique=False)),
                ("starts_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("ends_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ("quota", fields.IntField(null=True)),
                ("enrolled_count", fields.IntField(default=0)),
                ("points", fields.IntField(default=0)),
                ("service_hours", fields.DecimalField(default=Decimal("0"), max_digits=6, decimal_places=2)),
                ("min_photos", fields.IntField(default=1)),
                ("max_photos", fields.IntField(default=9)),
                ("location_name", fields.CharField(null=True, max_length=100)),
                ("lat", fields.FloatField(null=True)),
                ("lng", fields.FloatField(null=True)),
                ("radius_m", fields.IntField(null=True)),
                ("checkin_required", fields.BooleanField(default=False)),
                ("audience_roles", fields.CharField(null=True, max_length=100)),
                ("audience_org_paths", fields.TextField(null=True, unique=False)),
                ("audience_org_ids", fields.CharField(null=True, max_length=255)),
                ("cancelled_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "tasks", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Enrollment",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "task",
                    fields.ForeignKeyField(
                        "models.Task",
                        source_field="task_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="enrollments",
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
                        related_name="enrollments",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("status", fields.CharField(default="enrolled", max_length=16)),
                ("enrolled_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("checked_in_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("checkin_method", fields.CharField(null=True, max_length=8)),
                ("checkin_lat", fields.FloatField(null=True)),
                ("checkin_lng", fields.FloatField(null=True)),
                ("checkin_distance_m", fields.IntField(null=True)),
            ],
            options={
                "table": "enrollments",
                "app": "models",
                "unique_together": (("task", "user"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
