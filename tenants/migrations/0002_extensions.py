from django.db import migrations


class Migration(migrations.Migration):
    """btree_gist and pg_trgm live in the public schema, which every tenant's search_path includes.
    Created from a shared app so that dropping one tenant's schema can never drop the extension (and
    with it every other tenant's exclusion constraints)."""

    dependencies = [("tenants", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;"
            "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
