from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0010_user_real_name")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ConsoleTicket",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("ticket_hash", fields.CharField(unique=True, max_length=64)),
                ("kind", fields.CharField(max_length=8)),
                ("browser_hash", fields.CharField(null=True, max_length=64)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="console_tickets",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("expires_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ("used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "console_tickets",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A way into the console that works once: a code to scan, or a link made for one person.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ConsoleSession",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("token_hash", fields.CharField(unique=True, max_length=64)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="console_sessions",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("csrf", fields.CharField(max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("last_seen_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "console_sessions",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A signed-in browser.",
            },
            bases=["Model"],
        ),
    ]
