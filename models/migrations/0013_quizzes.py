from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0012_certificate_issuer")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Question",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "org",
                    fields.ForeignKeyField(
                        "models.Org",
                        source_field="org_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="questions",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("type", fields.CharField(max_length=8)),
                ("stem", fields.TextField(unique=False)),
                ("stem_key", fields.CharField(max_length=64)),
                ("options", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("answer", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ("explanation", fields.TextField(default="", unique=False)),
                ("tags", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("difficulty", fields.IntField(default=1)),
                ("status", fields.CharField(default="active", db_index=True, max_length=8)),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="created_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="questions",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "questions",
                "app": "models",
                "unique_together": (("org", "stem_key"),),
                "pk_attr": "id",
                "table_description": "One question of an org's bank, managed by staff of the org's subtree (admins: every bank).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="QuizAttempt",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "task",
                    fields.ForeignKeyField(
                        "models.Task",
                        source_field="task_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="quiz_attempts",
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
                        related_name="quiz_attempts",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("local_day", fields.DateField()),
                ("seed", fields.BigIntField()),
                ("question_ids", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("option_orders", fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ("started_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("deadline", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ("finished_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("score", fields.DecimalField(null=True, max_digits=4, decimal_places=1)),
                ("passed", fields.BooleanField(null=True)),
                ("points_awarded", fields.IntField(default=0)),
            ],
            options={
                "table": "quiz_attempts",
                "app": "models",
                "indexes": [Index(fields=["task_id", "user_id", "local_day"])],
                "pk_attr": "id",
                "table_description": "One sitting of a task's quiz by one person, timed by the server's clock only.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="QuizAnswer",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "attempt",
                    fields.ForeignKeyField(
                        "models.QuizAttempt",
                        source_field="attempt_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="answers",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "question",
                    fields.ForeignKeyField(
                        "models.Question",
                        source_field="question_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="answers",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("choice", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ("correct", fields.BooleanField(null=True)),
                ("answered_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "quiz_answers",
                "app": "models",
                "unique_together": (("attempt", "question"),),
                "pk_attr": "id",
                "table_description": "The answer given to one question of an attempt (changeable until it finishes).",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="LedgerEntry",
            name="once_key",
            field=fields.CharField(null=True, unique=True, max_length=64),
        ),
        ops.AddField(
            model_name="Task",
            name="quiz",
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
