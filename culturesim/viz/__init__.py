"""The interactive page: watch a culture change, branch a run, move a lever, see what it does.

Modules, one concern each:

- `levers.py`: the page's sliders, generated from the scenario schema (never retyped).
- `session.py`: `VizModel` (a `CultureModel` that also records strain histories and lever
  moves) and `Session` (the main run and, after "Branch here", its twin).
- `lineage.py`: a person's cascade lineage from the model's `events()` and `episodes()`.
- `views.py`: matplotlib drawings of a directorate, a cascade and a history.
- `plots.py`: the outcomes of both arms and their difference.
- `national.py`: per-trust values and colours for the national view.
- `pictures.py`: what the page, its downloads and the benchmark draw, from a session.
- `replicates.py`: replicate pairs of the branch in worker processes, and the interval on
  their difference (with `culturesim.batch.paired`).
- `export.py`: the run (and branch) as run folders in a zip.
- The page (Solara): `app.py` (the frame, building, Play), `state.py` (each browser tab's
  state), `sidebar.py` (controls and levers), `tabs.py` (the tabs), `clickable.py` with
  `clickable_image.vue` (a picture that reports where it was clicked). `server.py`: `serve()`,
  which `culturesim viz` calls.

The model never imports this package; only the page's modules and `server.py` need Solara.
"""
