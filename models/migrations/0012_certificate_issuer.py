from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0011_console_sessions")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Certificate",
            name="issuer",
            field=fields.CharField(default="", max_length=100),
        ),
    ]
