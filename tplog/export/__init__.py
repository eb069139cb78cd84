"""Exports of visit summaries: one module per format, all fed by records.stream()."""
