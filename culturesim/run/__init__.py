"""One run: simulate a scenario, write its run folder (tables, figures, provenance)."""
