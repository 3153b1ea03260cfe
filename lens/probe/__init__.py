"""Firing and timing: the burst engine, one request on the wire, the HTTP client, dialects."""
