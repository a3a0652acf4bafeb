"""The interactive page: watch a culture change, move a lever, see what happens next.

Modules, one concern each:

- `levers.py`: the page's sliders, generated from the scenario schema (never retyped).
- `session.py`: `VizModel`, the page's model: a `CultureModel` that also records what the
  page draws (strain histories, every week's acts, lever moves).
- `views.py`: matplotlib drawings of the organisation, the plots, a cascade and a history.
- `app.py`: the page: Mesa's `SolaraViz` around culturesim's views, plus the live levers.
- `server.py`: `serve()`, which `culturesim viz` calls to start the page offline.

The model never imports this package; only `app.py` and `server.py` need Solara and Mesa's
visualization (which needs altair).
"""
