from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0013_quizzes")]

    initial = False

    operations = [
        ops.CreateModel(
            name="PlatformAccount",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="platform_accounts",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("platform", fields.CharField(max_length=16)),
                ("handle", fields.CharField(max_length=64)),
                ("handle_key", fields.CharField(unique=True, max_length=224)),
                ("profile_url", fields.CharField(null=True, max_length=300)),
                ("followers", fields.BigIntField(null=True)),
                ("status", fields.CharField(default="pending", db_index=True, max_length=16)),
                ("reason", fields.CharField(null=True, max_length=200)),
                (
                    "decided_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="decided_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="account_decisions",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("decided_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "platform_accounts",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A person's account on a platform, pending until staff verify or reject it.",
            },
            bases=["Model"],
        ),
    ]
