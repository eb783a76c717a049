from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0009_org_change_requests")]

    initial = False

    operations = [
        ops.AddField(
            model_name="User",
            name="real_name",
            field=fields.CharField(null=True, max_length=32),
        ),
    ]
