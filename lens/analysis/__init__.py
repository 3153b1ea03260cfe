"""Analysis: request frames to prices, statistics, SLOs, charts, reports and the gate."""
