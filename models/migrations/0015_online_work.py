from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0014_platform_accounts")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ReachSnapshot",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "submission",
                    fields.ForeignKeyField(
                        "models.Submission",
                        source_field="submission_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="reach",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("views", fields.BigIntField()),
                ("likes", fields.BigIntField(default=0)),
                ("comments", fields.BigIntField(default=0)),
                ("shares", fields.BigIntField(default=0)),
                ("captured_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "media",
                    fields.ForeignKeyField(
                        "models.Media",
                        source_field="media_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="reach_uses",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "recorded_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="recorded_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="reach_recorded",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("correction", fields.BooleanField(default=False)),
                ("duplicate_of", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "reach_snapshots",
                "app": "models",
                "pk_attr": "id",
                "table_description": "The reach of a submission's post at one moment, with a screenshot when given.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Repost",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "submission",
                    fields.ForeignKeyField(
                        "models.Submission",
                        source_field="submission_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="reposts",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("level", fields.CharField(max_length=16)),
                ("url", fields.CharField(max_length=2048)),
                ("points", fields.IntField()),
                (
                    "recorded_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="recorded_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="reposts_recorded",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "reposts",
                "app": "models",
                "unique_together": (("submission", "level"),),
                "pk_attr": "id",
                "table_description": "An official site's repost of a submission's post, recorded by staff: one per level.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ShareLink",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "task",
                    fields.ForeignKeyField(
                        "models.Task",
                        source_field="task_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="share_links",
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
                        related_name="share_links",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "share_links",
                "app": "models",
                "unique_together": (("task", "user"),),
                "pk_attr": "id",
                "table_description": "A person's share of a task: one per person and task, reused when they share again.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ShareOpen",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "link",
                    fields.ForeignKeyField(
                        "models.ShareLink",
                        source_field="link_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="opens",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "opener",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="opener_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="share_opens",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("task_id", fields.IntField(db_index=True)),
                ("day", fields.CharField(max_length=10)),
                ("rewarded", fields.BooleanField(default=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "share_opens",
                "app": "models",
                "unique_together": (("link", "opener"),),
                "pk_attr": "id",
                "table_description": "Someone other than the sharer opened a shared card: once per opener and link.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="SubmissionLink",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "submission",
                    fields.ForeignKeyField(
                        "models.Submission",
                        source_field="submission_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="link_rows",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("user_id", fields.IntField(db_index=True)),
                ("position", fields.IntField()),
                ("url", fields.CharField(max_length=2048)),
                ("platform", fields.CharField(null=True, max_length=16)),
                ("link_key", fields.CharField(db_index=True, max_length=255)),
                ("live_key", fields.CharField(null=True, unique=True, max_length=255)),
                ("short", fields.BooleanField(default=False)),
            ],
            options={
                "table": "submission_links",
                "app": "models",
                "pk_attr": "id",
                "table_description": "One normalised link of a submission, in the order given.",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="LedgerEntry",
            name="bonus_of",
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name="PlatformAccount",
            name="account_ref",
            field=fields.CharField(null=True, max_length=128),
        ),
        ops.AddField(
            model_name="Submission",
            name="account_unverified",
            field=fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name="Submission",
            name="comments",
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name="Submission",
            name="likes",
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name="Submission",
            name="link_used",
            field=fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name="Submission",
            name="shares",
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name="Submission",
            name="views",
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name="Task",
            name="online",
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddIndex(
            model_name="LedgerEntry",
            index=Index(fields=["bonus_of"]),
        ),
    ]
