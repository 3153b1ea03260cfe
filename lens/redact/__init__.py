"""Keeping secrets and personal data out of everything lens writes or prints."""
