from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0015_online_work")]

    initial = False

    operations = [
        ops.CreateModel(
            name="CalendarDay",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("day", fields.DateField(unique=True)),
                ("kind", fields.CharField(max_length=8)),
                ("note", fields.CharField(null=True, max_length=32)),
                (
                    "updated_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="updated_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="calendar_days",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "calendar_days",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A day that is not what its weekday says: a holiday (放假) or a make-up workday (调休上班).",
            },
            bases=["Model"],
        ),
    ]
