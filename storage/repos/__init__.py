"""Queries. Every function that reads or changes a teacher's object takes ``owner_id``
and filters on it, so one teacher can never reach another's data."""
