from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0005_ledger")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Notification",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="notifications",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("event", fields.CharField(max_length=32)),
                ("ref_id", fields.IntField()),
                ("status", fields.CharField(default="queued", db_index=True, max_length=16)),
                ("errcode", fields.IntField(null=True)),
                ("attempts", fields.IntField(default=0)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("sent_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "notifications",
                "app": "models",
                "unique_together": (("user", "event", "ref_id"),),
                "pk_attr": "id",
                "table_description": "One subscribe message to one person: queued, then sent, refused (43101) or failed.",
            },
            bases=["Model"],
        ),
    ]
