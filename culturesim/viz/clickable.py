"""A picture the user can click: the click's place, as fractions of the picture's width and
height, goes to the server, which finds what is drawn there (`clickable_image.vue`)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import solara


@solara.component_vue("clickable_image.vue")
def ClickableImageView(src: str, image_class: str, alt: str, event_pick: Callable[[dict], None]):
    pass


@solara.component
def ClickableImage(
    png: bytes, classes: list[str], alt: str, on_pick: Callable[[float, float], None]
):
    """A PNG shown at the column's width; `on_pick(x, y)` gets a click's place (fractions from
    the top left)."""
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    ClickableImageView(
        src=src,
        image_class=" ".join(classes),
        alt=alt,
        event_pick=lambda place: on_pick(float(place["x"]), float(place["y"])),
    )
