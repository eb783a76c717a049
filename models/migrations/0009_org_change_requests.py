from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0008_board_and_enrollment_indexes")]

    initial = False

    operations = [
        ops.CreateModel(
            name="OrgChangeRequest",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="org_requests",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "from_org",
                    fields.ForeignKeyField(
                        "models.Org",
                        source_field="from_org_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="org_requests_out",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "to_org",
                    fields.ForeignKeyField(
                        "models.Org",
                        source_field="to_org_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="org_requests_in",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("status", fields.CharField(default="pending", db_index=True, max_length=16)),
                ("pending_user_id", fields.IntField(null=True, unique=True)),
                ("reason", fields.CharField(null=True, max_length=200)),
                (
                    "decided_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="decided_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="org_decisions",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("decided_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "org_change_requests",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A member's request to move to another org, decided by staff of that org.",
            },
            bases=["Model"],
        ),
    ]
