"""`serve()`: start the page on Solara's server, with every script, style and font served locally.

Solara fetches its front-end from a CDN unless the `solara-assets` package is installed, which
bundles those files; with it the page needs no internet. Solara's own telemetry and version
check, which would call out, are switched off here.
"""

from __future__ import annotations

import os
import socket
import warnings

from culturesim.engine.scenario import SCENARIO_DIR, load_scenario, resolve_scenario_path

APP_MODULE = "culturesim.viz.app"
DEFAULT_PORT = 8765
SCENARIO_ENV = "CULTURESIM_VIZ_SCENARIO"
"""How `serve()` tells the page which scenario to open: a bundled name or a file's path."""


def free_port(host: str) -> int:
    """A port the OS says is free now (for `--port 0`, so the printed address is the real one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def check_port(host: str, port: int) -> None:
    """Refuse, before any server starts, an address that cannot be listened on (a port in use,
    an unknown host): an OSError naming host:port, which the command line shows as one line."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as error:
        hint = (
            "choose another --host"
            if isinstance(error, socket.gaierror)
            else "choose another --port (0 picks a free one)"
        )
        raise OSError(
            error.errno,
            f"cannot serve the page there ({error.strerror or error}); {hint}",
            f"{host}:{port}",
        ) from None


def serve(scenario_path: str | None, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
    """Serve the page until interrupted, opening `scenario_path` (a file or a bundled name).

    The scenario is loaded once here so a bad file fails with a one-line ScenarioError before
    any server starts; the page then reads it from the environment (one process, one page).
    """
    if scenario_path is not None:
        scenario = load_scenario(scenario_path)
        resolved = resolve_scenario_path(scenario_path).resolve()
        bundled = resolved.parent == SCENARIO_DIR.resolve()
        os.environ[SCENARIO_ENV] = resolved.stem if bundled else str(resolved)
        label = scenario.name
    else:
        os.environ.pop(SCENARIO_ENV, None)
        label = "baseline"
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "false"
    os.environ.setdefault("MPLBACKEND", "Agg")
    if port == 0:
        port = free_port(host)
    check_port(host, port)

    import solara.server.settings
    from solara.__main__ import run

    solara.server.settings.telemetry.mixpanel_enable = False
    # Solara warns on every page load that a plain-http host other than 'localhost' cannot set
    # an iframe-friendly cookie; the page is not embedded, so the warning is only noise.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    # Solara's hook checker flags a `use_state` in Mesa 3.3.1's own ComponentsView; harmless.
    warnings.filterwarnings("ignore", message=".*ComponentsView: `use_state` found despite")
    print(f"culturesim viz: {label} at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    try:
        run.main(
            [
                APP_MODULE,
                "--host",
                host,
                "--port",
                str(port),
                "--production",
                "--no-open",
                "--no-check-version",
                "--log-level",
                "warning",
            ],
            prog_name="culturesim viz",
            standalone_mode=False,
        )
    except KeyboardInterrupt:  # how the page is meant to be stopped: not an error
        print("culturesim viz: stopped", flush=True)
