"""The model itself: scenario schema, organisation, people's state, rules, the week, cascades.

Nothing here writes files or knows about sweeps; `culturesim.run` and `culturesim.batch` build
on it, never the other way round.
"""
