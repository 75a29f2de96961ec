"""Alembic migrations of the cloud database (versions/), and what their data steps share."""

# A data step reads the journal this many documents at a time and writes each batch with one
# executemany per table: memory and round trips stay bounded however big the shop (tests lower it).
# Here, not in a revision file: Alembic loads those afresh on every run.
JOURNAL_CHUNK = 5000
