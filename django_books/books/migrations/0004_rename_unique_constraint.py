from django.db import migrations, models

# On SQLite, Django renames a constraint by rebuilding the table, which restarts AUTOINCREMENT's
# counter at the highest id left: a deleted newest book's id would be handed out again. The two
# RunPython steps carry the counter across the rebuild, in either direction.
ID_COUNTER = {}


def save_id_counter(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = 'books_book'")
            row = cursor.fetchone()
            ID_COUNTER["seq"] = row[0] if row else 0


def restore_id_counter(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = 'books_book'")
            row = cursor.fetchone()
            seq = max(ID_COUNTER.pop("seq"), row[0] if row else 0)
            cursor.execute("DELETE FROM sqlite_sequence WHERE name = 'books_book'")
            cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('books_book', %s)", [seq])


class Migration(migrations.Migration):

    dependencies = [
        ('books', '0003_book_version'),
    ]

    operations = [
        migrations.RunPython(save_id_counter, restore_id_counter),
        migrations.RemoveConstraint(
            model_name='book',
            name='unique_book_title_author',
        ),
        migrations.AddConstraint(
            model_name='book',
            constraint=models.UniqueConstraint(fields=('title', 'author'), name='uq_books_book_title_author'),
        ),
        migrations.RunPython(restore_id_counter, save_id_counter),
    ]
