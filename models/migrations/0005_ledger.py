from decimal import Decimal

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0004_media_submissions")]

    initial = False

    operations = [
        ops.CreateModel(
            name="LedgerEntry",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="ledger",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("kind", fields.CharField(max_length=16)),
                ("points", fields.IntField()),
                ("service_hours", fields.DecimalField(default=Decimal("0"), max_digits=8, decimal_places=2)),
                ("reason", fields.CharField(max_length=200)),
                ("submission_id", fields.IntField(null=True)),
                ("campaign_id", fields.IntField(null=True, db_index=True)),
                ("org_id", fields.IntField(null=True)),
                ("org_path", fields.CharField(default="", db_index=True, max_length=255)),
                ("created_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "ledger_entries",
                "app": "models",
                "unique_together": (("submission_id", "kind"),),
                "pk_attr": "id",
                "table_description": "Points and service hours given (award) or taken back (reversal), never edited or deleted.",
            },
            bases=["Model"],
        ),
    ]
