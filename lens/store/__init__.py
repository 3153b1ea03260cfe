"""Stores: SQLite/PostgreSQL, exported files, S3 + Glue + Athena, and every read of them."""
