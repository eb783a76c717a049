from decimal import Decimal

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="Org",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("name", fields.CharField(max_length=100)),
                ("kind", fields.CharField(max_length=16)),
                (
                    "parent",
                    fields.ForeignKeyField(
                        "models.Org",
                        source_field="parent_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="children",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("path", fields.CharField(default="", db_index=True, max_length=255)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "orgs",
                "app": "models",
                "unique_together": (("parent", "name"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="User",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("openid", fields.CharField(null=True, unique=True, max_length=64)),
                ("unionid", fields.CharField(null=True, db_index=True, max_length=64)),
                ("session_key_enc", fields.CharField(null=True, max_length=255)),
                ("role", fields.CharField(default="volunteer", max_length=16)),
                ("nickname", fields.CharField(default="", max_length=64)),
                ("avatar_media_id", fields.CharField(null=True, max_length=64)),
                (
                    "org",
                    fields.ForeignKeyField(
                        "models.Org",
                        source_field="org_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="members",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("phone_enc", fields.CharField(null=True, max_length=255)),
                ("phone_hash", fields.CharField(null=True, unique=True, max_length=64)),
                ("phone_masked", fields.CharField(null=True, max_length=32)),
                ("points", fields.IntField(default=0)),
                (
                    "service_hours",
                    fields.DecimalField(default=Decimal("0"), max_digits=10, decimal_places=2),
                ),
                ("leaderboard_visible", fields.BooleanField(default=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "last_login_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={"table": "users", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="AuthToken",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("token_hash", fields.CharField(unique=True, max_length=64)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="tokens",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "expires_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={"table": "auth_tokens", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
