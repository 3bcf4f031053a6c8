from django.db import migrations


class Migration(migrations.Migration):
    """unaccent, and an IMMUTABLE wrapper of it in the public schema: generated columns and
    indexes need an immutable function, and unaccent() itself is only STABLE (its dictionary could
    change). Names are searched through public.f_unaccent in every chain's schema."""

    dependencies = [("tenants", "0002_extensions")]

    operations = [
        migrations.RunSQL(
            """
            CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;
            CREATE OR REPLACE FUNCTION public.f_unaccent(text) RETURNS text
                LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
                AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
