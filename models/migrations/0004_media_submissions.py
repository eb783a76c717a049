from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0003_user_deleted_at")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Media",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "owner",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="owner_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="media",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("key", fields.CharField(unique=True, max_length=40)),
                ("width", fields.IntField()),
                ("height", fields.IntField()),
                ("content_type", fields.CharField(max_length=32)),
                ("source_type", fields.CharField(max_length=32)),
                ("size_bytes", fields.IntField()),
                ("sha256", fields.CharField(db_index=True, max_length=64)),
                ("phash", fields.CharField(max_length=16)),
                ("phash_b0", fields.IntField(db_index=True)),
                ("phash_b1", fields.IntField(db_index=True)),
                ("phash_b2", fields.IntField(db_index=True)),
                ("phash_b3", fields.IntField(db_index=True)),
                ("taken_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("lat", fields.FloatField(null=True)),
                ("lng", fields.FloatField(null=True)),
                ("check_trace_id", fields.CharField(null=True, unique=True, max_length=64)),
                ("check_result", fields.CharField(default="unchecked", max_length=16)),
                ("created_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "media",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A photo someone uploaded, as the clean JPEGs in storage plus the evidence read from it.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Submission",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "task",
                    fields.ForeignKeyField(
                        "models.Task",
                        source_field="task_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="submissions",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="submissions",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("status", fields.CharField(default="pending", db_index=True, max_length=16)),
                ("text", fields.TextField(default="", unique=False)),
                ("links", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("lat", fields.FloatField(null=True)),
                ("lng", fields.FloatField(null=True)),
                ("live_key", fields.CharField(null=True, unique=True, max_length=24)),
                ("text_check", fields.CharField(default="unchecked", max_length=16)),
                ("duplicate_of", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("outside_area", fields.BooleanField(default=False)),
                ("outside_window", fields.BooleanField(default=False)),
                ("decision", fields.CharField(null=True, max_length=16)),
                ("reason", fields.TextField(null=True, unique=False)),
                ("awarded_points", fields.IntField(null=True)),
                ("reviewed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "reviewed_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="reviewed_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="reviews",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("created_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "submissions",
                "app": "models",
                "pk_attr": "id",
                "table_description": "Evidence handed in for a task: text, photos, links, and what the checks found.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="SubmissionMedia",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "submission",
                    fields.ForeignKeyField(
                        "models.Submission",
                        source_field="submission_id",
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
                        related_name="uses",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("position", fields.IntField()),
            ],
            options={
                "table": "submission_media",
                "app": "models",
                "unique_together": (("submission", "media"),),
                "pk_attr": "id",
                "table_description": "A photo of a submission, in the order the person gave.",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Campaign",
            name="cover_key",
            field=fields.CharField(null=True, max_length=40),
        ),
        ops.AddField(
            model_name="User",
            name="avatar_key",
            field=fields.CharField(null=True, max_length=40),
        ),
    ]
