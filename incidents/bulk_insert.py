"""INSERT of many rows with one prepared statement, for imports.

`insert_rows` bypasses save(), model signals and bulk_create; callers pass
values already valid for their fields.
"""

from functools import partial

from django.db import connections, models, router
from django.utils import timezone

# Rows per executemany call.
INSERT_CHUNK = 5000


def _db_converter(model_field, db):
    """Return a function converting a Python value of the field for the database,
    or None when the driver takes the value as it is."""
    if isinstance(model_field, models.DateTimeField):
        adapted = {None: None}

        def convert(value):
            # Imported timestamps repeat across rows, so each distinct value is
            # converted once.
            try:
                return adapted[value]
            except KeyError:
                result = adapted[value] = db.ops.adapt_datetimefield_value(value)
                return result

        return convert
    if isinstance(model_field, models.JSONField):
        return partial(db.ops.adapt_json_value, encoder=model_field.encoder)
    return None


def insert_rows(model, attnames, rows):
    """INSERT rows, tuples of values in attnames order, with executemany.

    bulk_create converts every value through its field and builds one statement
    per batch. On SQLite a batch has at most 999 parameters, so the 112,000
    timeline entries of the full log needed about 1,500 statements, which took
    7.3 s of a 17 s import (wall time on the shared 2-core machine). Here the
    statement is prepared once and only datetimes and JSON are converted.

    Only the value types the import produces are supported: text, numbers,
    booleans, None, aware datetimes and, for JSONField, dicts. Fields not in
    attnames get their default, evaluated once for all rows, and auto_now or
    auto_now_add fields the current time.
    """
    if not rows:
        return
    db = connections[router.db_for_write(model)]
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    listed_fields = [by_attname[attname] for attname in attnames]
    rest = [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and f.attname not in attnames
    ]
    converters = [
        (position, convert)
        for position, convert in enumerate(_db_converter(f, db) for f in listed_fields)
        if convert is not None
    ]
    now = timezone.now()
    tail = []
    for model_field in rest:
        convert = _db_converter(model_field, db)
        # auto_now and auto_now_add fields have no default: save() and
        # bulk_create fill them in pre_save(), which this INSERT bypasses.
        if getattr(model_field, "auto_now", False) or getattr(
            model_field, "auto_now_add", False
        ):
            default = now
        else:
            default = model_field.get_default()
        tail.append(default if convert is None else convert(default))

    params = []
    for row in rows:
        if converters:
            row = list(row)
            for position, convert in converters:
                row[position] = convert(row[position])
        params.append((*row, *tail))

    quote = db.ops.quote_name
    fields = [*listed_fields, *rest]
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    with db.cursor() as cursor:
        for start in range(0, len(params), INSERT_CHUNK):
            cursor.executemany(sql, params[start : start + INSERT_CHUNK])
