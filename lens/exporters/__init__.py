"""Exporters: sinks that publish finished requests elsewhere (Prometheus, OpenTelemetry)."""
