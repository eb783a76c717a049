from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0016_calendar")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Message",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("number", fields.CharField(unique=True, max_length=24)),
                (
                    "writer",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="writer_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="messages",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("category", fields.CharField(max_length=16)),
                ("title", fields.CharField(max_length=100)),
                ("content", fields.TextField(unique=False)),
                ("lat", fields.FloatField(null=True)),
                ("lng", fields.FloatField(null=True)),
                ("public_ok", fields.BooleanField(default=False)),
                ("status", fields.CharField(default="submitted", db_index=True, max_length=16)),
                ("version", fields.IntField(default=0)),
                (
                    "home_org",
                    fields.ForeignKeyField(
                        "models.Org",
                        source_field="home_org_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="messages_received",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "org",
                    fields.ForeignKeyField(
                        "models.Org",
                        source_field="org_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="messages_held",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "assigner_org",
                    fields.ForeignKeyField(
                        "models.Org",
                        source_field="assigner_org_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="messages_assigned",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("assign_kind", fields.CharField(null=True, max_length=16)),
                ("co_org_ids", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("due_at", fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ("overdue", fields.BooleanField(default=False)),
                ("supervision", fields.IntField(default=0)),
                ("supervised_on", fields.DateField(null=True)),
                ("extension_days", fields.IntField(default=0)),
                ("extension_asked", fields.IntField(null=True)),
                ("extension_reason", fields.CharField(null=True, max_length=200)),
                ("draft", fields.TextField(null=True, unique=False)),
                ("reply", fields.TextField(null=True, unique=False)),
                ("replied_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("rating", fields.CharField(null=True, max_length=16)),
                ("rating_comment", fields.CharField(null=True, max_length=500)),
                ("reopened", fields.BooleanField(default=False)),
                ("closed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "messages",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A netizen's message and where its handling stands.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="MessageEvent",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "message",
                    fields.ForeignKeyField(
                        "models.Message",
                        source_field="message_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="events",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("action", fields.CharField(max_length=24)),
                (
                    "org",
                    fields.ForeignKeyField(
                        "models.Org",
                        source_field="org_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="message_events",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "actor",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="actor_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="message_events",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("note", fields.TextField(default="", unique=False)),
                ("public", fields.BooleanField(default=False)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "message_events",
                "app": "models",
                "pk_attr": "id",
                "table_description": "One step of a message's handling, in order: the ``public`` ones are shown to the writer.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="MessageMedia",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "message",
                    fields.ForeignKeyField(
                        "models.Message",
                        source_field="message_id",
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
                        related_name="message_uses",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("position", fields.IntField()),
            ],
            options={"table": "message_media", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
