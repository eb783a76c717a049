from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0006_notifications")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AuditEntry",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "actor",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="actor_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="audit_entries",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("action", fields.CharField(db_index=True, max_length=32)),
                ("target", fields.CharField(max_length=100)),
                ("details", fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ("created_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "audit_entries",
                "app": "models",
                "pk_attr": "id",
                "table_description": "One staff action, append-only.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Certificate",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("serial", fields.CharField(unique=True, max_length=32)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="certificates",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=64)),
                ("org", fields.CharField(max_length=255)),
                ("service_hours", fields.DecimalField(max_digits=10, decimal_places=2)),
                ("approved_tasks", fields.IntField()),
                ("issued_on", fields.DateField()),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "certificates",
                "app": "models",
                "pk_attr": "id",
                "table_description": "What a certificate stated when it was issued, verifiable by its serial.",
            },
            bases=["Model"],
        ),
    ]
