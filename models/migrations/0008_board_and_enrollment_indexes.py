from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0007_audit_certificates")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Enrollment",
            index=Index(fields=["user_id"]),
        ),
        ops.AddIndex(
            model_name="User",
            index=Index(fields=["points"]),
        ),
    ]
