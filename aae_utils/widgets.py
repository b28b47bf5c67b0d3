"""An interactive latent explorer (ipywidgets 8): move a point through the code space and
watch the decoder's image change.

Left: the codes of some images (coloured by digit, in the colours of every figure of the
course, :data:`aae_utils.viz.DIGIT_COLORS`, with a key) over grey samples of the prior, with
the current point marked. Right: the decoder's image for that point, drawn as
:func:`aae_utils.viz.image_grid` draws digits (dark ink on white). One slider per code
coordinate moves the point; for a decoder that also takes a label (supervised AAE, semi-
supervised AAE) a digit selector chooses the content while the sliders set the style; with
several models a selector switches between them (e.g. one model per prior).

    explorer = LatentExplorer({"Gaussian": aae, "swiss roll": roll}, test.x, test.y,
                              priors={"Gaussian": gauss, "swiss roll": roll_prior})
    explorer            # last line of a cell: shows the widget
    explorer.set_code([1.0, -2.0])
    explorer.image      # what the decoder shows now, (28, 28) in [0, 1]

Both pictures are PNGs made here (the scatter is drawn once per model with matplotlib's Agg
canvas and only the marker is redrawn), so a slider move costs one decoder call and no
figure redraw. Outside a live kernel (GitHub, a static site) the cell shows a still PNG of
the same view instead of the widget.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import ipywidgets as W
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image
from torch import Tensor, nn

from . import inputs
from .priors import Prior
from .viz import PRIOR_ALPHA, PRIOR_COLOR, _scatter, digit_legend

#: More sliders than this would not fit beside the pictures; such codes are too wide to explore
#: by hand anyway.
MAX_SLIDERS = 12


@dataclass
class _View:
    """What the explorer needs of one model, independent of the model's class."""

    name: str
    latent_dim: int
    num_classes: int  # 0: the decoder takes no label
    decode: Callable[[Tensor, int | None], Tensor]  # code (d,), digit -> image (28, 28)
    codes: np.ndarray  # (N, d) codes of the given images
    labels: np.ndarray | None
    prior: np.ndarray | None  # (M, d) prior samples
    lim: float
    background: np.ndarray | None = None  # RGBA scatter, drawn on first use
    to_pixel: Callable[[float, float], tuple[float, float]] | None = None


def _as_numpy(t: Tensor | np.ndarray | None) -> np.ndarray | None:
    if t is None:
        return None
    return t.detach().cpu().numpy() if isinstance(t, Tensor) else np.asarray(t)


def _make_view(
    name: str, model: nn.Module, x: Tensor, labels: Tensor | None, prior: Prior | None,
    n_prior: int, generator: torch.Generator,
) -> _View:
    """Wrap one trained model: its decoder, its codes of ``x`` and samples of its prior."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model {name!r} is a {type(model).__name__}, not a torch model")
    if getattr(model, "head_dim", 0):
        raise ValueError(
            f"model {name!r} decodes W_C y + z (cluster heads); explore its 2-D representation "
            "with a plain scatter instead"
        )
    if not (hasattr(model, "decoder") and hasattr(model, "encode")):
        raise TypeError(
            f"model {name!r} ({type(model).__name__}) has no decoder/encode(); the explorer "
            "takes the course's AE, VAE, AAE or semi-supervised AAE"
        )
    # Every course model decodes through ``decoder(z, one-hot label)``; the semi-supervised
    # AAE's ``images(y, z)`` is the same call with the arguments swapped.
    dec = model.decoder
    dim, classes = dec.latent_dim, dec.cond_dim
    device = next(dec.parameters()).device

    def decode(z: Tensor, digit: int | None) -> Tensor:
        cond = None
        if classes:
            cond = F.one_hot(torch.tensor([digit or 0], device=device), classes).float()
        return dec.images(z[None].to(device), cond)[0].view(28, 28).cpu()

    was = model.training
    model.eval()
    try:
        codes = model.encode(x.to(device))
    finally:
        model.train(was)
    if dim < 2:
        raise ValueError(f"model {name!r} has a {dim}-D code; the explorer needs at least 2-D")
    if dim > MAX_SLIDERS:
        raise ValueError(
            f"model {name!r} has a {dim}-D code; the explorer shows at most {MAX_SLIDERS} sliders"
        )
    prior_np = None
    if prior is not None:
        if prior.dim != dim:
            raise ValueError(f"prior for {name!r} is {prior.dim}-D but the model's code is {dim}-D")
        prior_np = _as_numpy(prior.sample(n_prior, generator=generator))
    codes_np = _as_numpy(codes)
    ref = prior_np if prior_np is not None else codes_np
    # Symmetric range that holds nearly all of the prior (or the codes), rounded up.
    lim = float(np.ceil(np.quantile(np.abs(ref[:, :2]), 0.995) * 1.1 * 2) / 2)
    return _View(name, dim, classes, decode, codes_np, _as_numpy(labels), prior_np, max(lim, 0.5))


def _draw_background(view: _View, size_px: int) -> None:
    """Render the scatter once; keep its pixels and the data-to-pixel map."""
    dpi = 100
    fig = Figure(figsize=(size_px / dpi, size_px / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    keyed = view.labels is not None
    # Room for the labels and the title, and on the right for the digit key.
    ax = fig.add_axes((0.15, 0.14, 0.68, 0.78) if keyed else (0.15, 0.14, 0.8, 0.78))
    if view.prior is not None:
        ax.scatter(view.prior[:, 0], view.prior[:, 1], s=2, color=PRIOR_COLOR, alpha=PRIOR_ALPHA,
                   linewidths=0)
    _scatter(ax, view.codes[:, :2], view.labels, s=3, alpha=0.7)  # digits coloured, -1 grey
    if keyed:
        digit_legend(ax, unlabelled=bool((view.labels < 0).any()), prior=view.prior is not None,
                     fontsize=6.5)
    ax.set_xlim(-view.lim, view.lim)
    ax.set_ylim(-view.lim, view.lim)
    ax.set_xlabel("$z_1$", fontsize=9)
    ax.set_ylabel("$z_2$", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.set_title(view.name, fontsize=9)
    canvas.draw()
    view.background = np.asarray(canvas.buffer_rgba()).copy()
    height = view.background.shape[0]
    trans = ax.transData

    def to_pixel(u: float, v: float) -> tuple[float, float]:
        px, py = trans.transform((u, v))
        return float(px), float(height - py)  # image rows grow downwards

    view.to_pixel = to_pixel


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _mark(rgba: np.ndarray, col: float, row: float, radius: int = 7) -> np.ndarray:
    """A copy of ``rgba`` with a black-and-white cross at (col, row), clipped to the picture."""
    out = rgba.copy()
    h, w = out.shape[:2]
    c, r = int(round(col)), int(round(row))
    for colour, half in (((255, 255, 255, 255), 2), ((0, 0, 0, 255), 1)):
        r0, r1 = max(r - half, 0), min(r + half + 1, h)
        c0, c1 = max(c - radius, 0), min(c + radius + 1, w)
        if r0 < r1 and c0 < c1:
            out[r0:r1, c0:c1] = colour
        r0, r1 = max(r - radius, 0), min(r + radius + 1, h)
        c0, c1 = max(c - half, 0), min(c + half + 1, w)
        if r0 < r1 and c0 < c1:
            out[r0:r1, c0:c1] = colour
    return out


class LatentExplorer:
    """Latent scatter and decoded image, driven by sliders (see the module docstring).

    Args:
        models: one trained model, or ``{name: model}`` to switch between several.
        x: images whose codes are drawn, ``(N, 784)`` (or ``(N, 28, 28)``, NumPy arrays, 0-255
            integers: see :mod:`aae_utils.inputs`); the first ``n_points`` are used.
        labels: their digits in [0, 9] (colours the scatter; -1: no label, grey), or ``None``.
        priors: the prior of each model (same keys as ``models``, or one prior for a single
            model); drawn in grey underneath, and the "sample" button draws from it.
        n_points: how many codes and prior samples to draw.
        selector_label: the selector's caption (``"prior"`` when each model had its own).
        seed: seeds the prior samples, so the picture is the same on every run.

    Raises:
        TypeError / ValueError: a model without a decoder, a 1-D code, a code wider than
            :data:`MAX_SLIDERS`, a prior of the wrong size, or mismatched names.
    """

    def __init__(
        self,
        models: nn.Module | Mapping[str, nn.Module],
        x: Tensor,
        labels: Tensor | None = None,
        priors: Prior | Mapping[str, Prior] | None = None,
        *,
        n_points: int = 2000,
        selector_label: str = "model",
        seed: int = 0,
        size_px: int = 320,
        image_scale: int = 8,
    ) -> None:
        if isinstance(models, nn.Module):
            models = {getattr(models, "kind", "model").upper(): models}
            if isinstance(priors, Prior):
                priors = {next(iter(models)): priors}
        if not models:
            raise ValueError("give at least one trained model")
        if isinstance(priors, Prior):
            raise TypeError("with several models give priors as {name: prior}")
        priors = dict(priors or {})
        unknown = set(priors) - set(models)
        if unknown:
            raise ValueError(f"priors for unknown models {sorted(unknown)}; models: {list(models)}")
        x = inputs.images(x, "x", dim=784, device=torch.device("cpu"), check=True)
        if labels is not None:
            labels = inputs.labels(labels, "labels", classes=10, unlabelled=True, n=len(x), check=True)
        x = x[:n_points]
        labels = labels[:n_points] if labels is not None else None
        gen = torch.Generator().manual_seed(seed)
        self._views = {
            name: _make_view(name, m, x, labels, priors.get(name), n_points, gen)
            for name, m in models.items()
        }
        self._size_px, self._scale = size_px, image_scale
        self._rng = np.random.default_rng(seed)
        self._hold = False

        self.selector = W.Dropdown(options=list(self._views), description=selector_label)
        self.digit = W.ToggleButtons(
            options=list(range(10)), description="digit",
            style={"button_width": "2.2em"},
        )
        self.sample_button = W.Button(description="sample from the prior", icon="random",
                                      layout=W.Layout(width="220px"))
        self.readout = W.HTML()
        # Fixed sizes: a flex row would otherwise stretch the digit to the scatter's height.
        side = 28 * image_scale
        self.scatter_image = W.Image(format="png", layout=W.Layout(width=f"{size_px}px",
                                                                   height=f"{size_px}px"))
        # Black frame: image_grid's separators, so the white background has an edge.
        self.decoded_image = W.Image(format="png", layout=W.Layout(
            width=f"{side}px", height=f"{side}px", border="1px solid black"))
        self.sliders: list[W.FloatSlider] = []
        self._slider_box = W.VBox()
        controls = W.VBox([self.selector, self.digit, self._slider_box, self.sample_button,
                           self.readout])
        pictures = W.HBox([self.scatter_image, self.decoded_image],
                          layout=W.Layout(align_items="center"))
        self.widget = W.VBox([pictures, controls])

        self.selector.observe(lambda _: self._switch(), names="value")
        self.digit.observe(lambda _: self._update(), names="value")
        self.sample_button.on_click(lambda _: self.sample())
        self._switch()

    # ----------------------------------------------------------------- state
    @property
    def view(self) -> _View:
        return self._views[self.selector.value]

    @property
    def code(self) -> Tensor:
        """The current point of the code space, ``(latent_dim,)``."""
        return torch.tensor([s.value for s in self.sliders], dtype=torch.float32)

    @property
    def image(self) -> Tensor:
        """The decoder's image for the current point (and digit), ``(28, 28)`` in [0, 1]."""
        return self._image

    def set_code(self, values: Sequence[float] | Tensor) -> None:
        """Move the point (one value per code coordinate; clipped to the sliders' range)."""
        values = [float(v) for v in (values.tolist() if isinstance(values, Tensor | np.ndarray)
                                     else values)]
        if not all(np.isfinite(values)):
            raise ValueError(f"values must be finite numbers, got {values}")
        if len(values) != len(self.sliders):
            raise ValueError(
                f"values must have one number per code coordinate: {self.view.name!r} has a "
                f"{len(self.sliders)}-D code, got {len(values)} values"
            )
        self._hold = True
        try:
            for s, v in zip(self.sliders, values, strict=True):
                s.value = v
        finally:
            self._hold = False
        self._update()

    def select(self, name: str) -> None:
        """Switch to another model (as the selector does)."""
        if name not in self._views:
            raise ValueError(f"no model {name!r}; choose from {list(self._views)}")
        self.selector.value = name

    def sample(self) -> None:
        """Jump to a random sample of the prior (or, without a prior, a random image's code)."""
        pool = self.view.prior if self.view.prior is not None else self.view.codes
        self.set_code(pool[self._rng.integers(len(pool))])

    # --------------------------------------------------------------- drawing
    def _switch(self) -> None:
        view = self.view
        if view.background is None:
            _draw_background(view, self._size_px)
        step = round(view.lim / 50, 4)
        self.sliders = [
            W.FloatSlider(value=0.0, min=-view.lim, max=view.lim, step=step,
                          description=f"z{i + 1}", continuous_update=True, readout_format=".2f",
                          layout=W.Layout(width=f"{self._size_px + 28 * self._scale}px"))
            for i in range(view.latent_dim)
        ]
        for s in self.sliders:
            s.observe(lambda _: None if self._hold else self._update(), names="value")
        self._slider_box.children = self.sliders
        if view.num_classes:
            self.digit.options = list(range(view.num_classes))
        self.digit.layout.display = None if view.num_classes else "none"
        self._update()

    def _update(self) -> None:
        view, z = self.view, self.code
        digit = self.digit.value if view.num_classes else None
        self._image = view.decode(z, digit)
        self.decoded_image.value = _png(self._digit_pixels())
        self._scatter_rgba = _mark(view.background, *view.to_pixel(float(z[0]), float(z[1])))
        self.scatter_image.value = _png(self._scatter_rgba)
        where = ", ".join(f"{v:.2f}" for v in z.tolist())
        label = f" &middot; digit {digit}" if digit is not None else ""
        self.readout.value = f"<code>z = ({where})</code>{label}"

    def _digit_pixels(self) -> np.ndarray:
        """The decoded image as 8-bit grey, each pixel a ``scale`` x ``scale`` block.

        Drawn as :func:`aae_utils.viz.image_grid` draws every digit of the course (colormap
        ``gray_r`` on [0, 1]): ink 1 is black, background 0 is white.
        """
        ink = self._image.clamp(0, 1).numpy()
        pixels = np.round((1.0 - ink) * 255).astype(np.uint8)
        return np.kron(pixels, np.ones((self._scale, self._scale), dtype=np.uint8))

    def snapshot(self) -> np.ndarray:
        """The scatter and the decoded image side by side, as one RGBA array (a still)."""
        scatter, pixels = self._scatter_rgba, self._digit_pixels()
        h = scatter.shape[0]
        panel = np.full((h, pixels.shape[1] + 20, 4), 255, dtype=np.uint8)
        top = max((h - pixels.shape[0]) // 2, 0)
        rows = min(pixels.shape[0], h)
        panel[top:top + rows, 10:10 + pixels.shape[1], :3] = pixels[:rows, :, None]
        # The live widget's black frame, drawn in the margin around the digit.
        panel[max(top - 1, 0), 9:11 + pixels.shape[1], :3] = 0
        panel[min(top + rows, h - 1), 9:11 + pixels.shape[1], :3] = 0
        panel[max(top - 1, 0):top + rows + 1, [9, 10 + pixels.shape[1]], :3] = 0
        return np.concatenate([scatter, panel], axis=1)

    def _repr_mimebundle_(self, **kwargs) -> dict:
        """The live widget, plus a still PNG for renderers without a kernel (GitHub, the site)."""
        if hasattr(self.widget, "_repr_mimebundle_"):  # ipywidgets 8
            bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        else:  # ipywidgets 7 (e.g. Colab's): the same view reference, built by hand
            bundle = {"application/vnd.jupyter.widget-view+json": {
                "version_major": 2, "version_minor": 0, "model_id": self.widget.model_id}}
        bundle["image/png"] = base64.b64encode(_png(self.snapshot())).decode("ascii")
        bundle["text/plain"] = f"LatentExplorer({', '.join(self._views)})"
        return bundle
