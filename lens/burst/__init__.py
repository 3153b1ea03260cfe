"""One way to fire a burst into a store: run bookkeeping, budgets, sinks, progress, stop."""
