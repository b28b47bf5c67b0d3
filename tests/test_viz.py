import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure

from aae_utils import viz
from aae_utils.models import Decoder
from aae_utils.priors import GaussianPrior


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_image_grid_layout():
    fig = viz.image_grid(torch.rand(25, 784), nrow=10, title="x")
    assert isinstance(fig, Figure)
    canvas = fig.axes[0].images[0].get_array()
    assert canvas.shape == (3 * 30, 10 * 30)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        viz.image_grid(torch.randn(4, 784) * 5)


def test_latent_scatter_and_prior_vs_posterior():
    z = torch.randn(300, 2)
    labels = torch.arange(300) % 10
    fig = viz.latent_scatter(z, labels, prior_samples=GaussianPrior(2).sample(200), title="t")
    assert isinstance(fig, Figure) and len(fig.axes[0].collections) == 2
    fig = viz.prior_vs_posterior(GaussianPrior(2).sample(300), z, labels)
    assert len([a for a in fig.axes if a.get_title()]) == 2
    with pytest.raises(ValueError, match=">=2"):
        viz.latent_scatter(torch.randn(5, 1))


def test_manifold_sweep_decodes_a_grid():
    dec = Decoder(2, 784, hidden=(8,))
    fig = viz.manifold_sweep(dec, lim=2, n=5)
    assert fig.axes[0].images[0].get_array().shape == (5 * 30, 5 * 30)
    with pytest.raises(ValueError, match="2-D code"):
        viz.manifold_sweep(Decoder(3, 784, hidden=(8,)))


def test_loss_curves_one_panel_per_key():
    fig = viz.loss_curves({"recon": [3, 2, 1], "disc_acc": [0.9, 0.6, 0.5], "seconds": [1, 1, 1]})
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="history has no"):
        viz.loss_curves({"recon": [1]}, keys=["kl"])


# --- digit colours -------------------------------------------------------------------------------
_MACHADO = {  # Machado, Oliveira & Fernandes (2009), severity 1, on linear sRGB
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}


def _lab(rgb, vision: str | None = None):
    """CIELAB (D65) of sRGB colours ``(N, 3)``, optionally as seen with a colour-vision deficiency."""
    rgb = np.asarray(rgb, dtype=float)
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    if vision is not None:
        lin = np.clip(lin @ np.asarray(_MACHADO[vision]).T, 0, 1)
    xyz = lin @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                          [0.0193, 0.1192, 0.9505]]).T / [0.95047, 1.0, 1.08883]
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], 1)


def _ciede2000(lab1, lab2):
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005), row by row."""
    (L1, a1, b1), (L2, a2, b2) = lab1.T, lab2.T
    cbar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(cbar**7 / (cbar**7 + 25.0**7)))
    a1, a2 = a1 * (1 + g), a2 * (1 + g)
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    h1, h2 = np.degrees(np.arctan2(b1, a1)) % 360, np.degrees(np.arctan2(b2, a2)) % 360
    dh = np.where(c1 * c2 == 0, 0, (h2 - h1 + 180) % 360 - 180)
    dH = 2 * np.sqrt(c1 * c2) * np.sin(np.radians(dh / 2))
    hbar = np.where(np.abs(h1 - h2) <= 180, (h1 + h2) / 2, (h1 + h2 + 360) / 2 % 360)
    hbar = np.where(c1 * c2 == 0, h1 + h2, hbar)
    lbar, cbar = (L1 + L2) / 2, (c1 + c2) / 2
    t = (1 - 0.17 * np.cos(np.radians(hbar - 30)) + 0.24 * np.cos(np.radians(2 * hbar))
         + 0.32 * np.cos(np.radians(3 * hbar + 6)) - 0.20 * np.cos(np.radians(4 * hbar - 63)))
    sl = 1 + 0.015 * (lbar - 50) ** 2 / np.sqrt(20 + (lbar - 50) ** 2)
    sc, sh = 1 + 0.045 * cbar, 1 + 0.015 * cbar * t
    rt = (-2 * np.sqrt(cbar**7 / (cbar**7 + 25.0**7))
          * np.sin(np.radians(60 * np.exp(-(((hbar - 275) / 25) ** 2)))))
    dl, dc = (L2 - L1) / sl, (c2 - c1) / sc
    return np.sqrt(dl**2 + dc**2 + (dH / sh) ** 2 + rt * dc * (dH / sh))


def _closest_pair(colors, vision):
    lab = _lab([to_rgb(c) for c in colors], vision)
    i, j = np.triu_indices(len(lab), 1)
    return float(_ciede2000(lab[i], lab[j]).min())


def test_digit_colours_are_petroffs_ten_and_stay_apart_for_colour_blind_readers():
    colors = viz.DIGIT_COLORS
    assert colors == ("#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6",
                      "#a96b59", "#e76300", "#b9ac70", "#717581", "#92dadd")
    if "petroff10" in plt.style.library:  # matplotlib >= 3.10 ships the same sequence
        assert list(colors) == plt.style.library["petroff10"]["axes.prop_cycle"].by_key()["color"]
    assert len({to_hex(c) for c in colors}) == 10
    assert [to_hex(c) for c in viz.DIGIT_PALETTE.colors] == list(colors)
    # The docstring's numbers: closest pair under simulated colour blindness (CIEDE2000) ...
    for vision, expected in [("protanopia", 11.9), ("deuteranopia", 12.6), ("tritanopia", 13.3)]:
        assert _closest_pair(colors, vision) == pytest.approx(expected, abs=0.05), vision
    # ... where tab10, the old palette, merges two digits for a protanope.
    assert _closest_pair(plt.get_cmap("tab10").colors, "protanopia") < 2
    # A sanity check of the CIEDE2000 code: pair 1 of Sharma, Wu & Dalal's test data.
    assert _ciede2000(np.array([[50, 2.6772, -79.7751]]),
                      np.array([[50, 0, -82.7485]]))[0] == pytest.approx(2.0425, abs=1e-4)


def test_every_scatter_gives_digit_d_colour_d():
    z, labels = torch.randn(100, 2), torch.arange(100) % 10
    for fig, ax in [(f := viz.latent_scatter(z, labels), f.axes[0]),
                    (f := viz.latent_scatter(z, labels, colorbar=False), f.axes[0]),
                    (f := viz.prior_vs_posterior(z, z, labels), f.axes[1])]:
        digits = ax.collections[-1]
        shown = digits.to_rgba(np.arange(10))[:, :3]
        assert np.allclose(shown, [to_rgb(c) for c in viz.DIGIT_COLORS]), fig


# --- keys and axes -------------------------------------------------------------------------------
def _legend_entries(ax):
    legend = ax.get_legend()
    if legend is None:
        return None
    return {t.get_text(): to_hex(h.get_markerfacecolor())
            for t, h in zip(legend.get_texts(), legend.legend_handles, strict=True)}


def test_a_labelled_scatter_always_has_a_key_to_the_ten_digits():
    z, labels = torch.randn(200, 2), torch.arange(200) % 10
    fig = viz.latent_scatter(z, labels)  # default: a discrete colour bar
    ax, cbar = fig.axes
    assert ax.get_xlabel() == "$z_1$"
    assert ax.get_ylabel() == "$z_2$"
    assert list(cbar.get_yticks()) == list(range(10)) and cbar.get_ylabel() == "digit"
    assert _legend_entries(ax) is None

    # A panel without its colour bar gets a compact legend beside it instead.
    fig, axes = plt.subplots(1, 2)
    viz.latent_scatter(z, labels, ax=axes[0], colorbar=False)
    entries = _legend_entries(axes[0])
    assert entries == {str(d): c for d, c in enumerate(viz.DIGIT_COLORS)}
    assert axes[0].get_legend().get_title().get_text() == "digit"
    assert len(fig.axes) == 2, "no colour bar axes added"

    # Its extra entries: grey codes without a label, grey prior samples; a caller's key title.
    with_grey = labels.clone()
    with_grey[:7] = -1
    fig = viz.latent_scatter(z, with_grey, colorbar=False, prior_samples=torch.randn(50, 2),
                             key_title="component")
    entries = _legend_entries(fig.axes[0])
    assert list(entries)[10:] == ["no label", "prior"] and len(entries) == 12
    assert fig.axes[0].get_legend().get_title().get_text() == "component"

    assert _legend_entries(viz.latent_scatter(z, labels, legend=True).axes[0]) is not None
    assert len(viz.latent_scatter(z, labels, legend=True).axes) == 1, "legend instead of bar"
    assert _legend_entries(viz.latent_scatter(z, labels, colorbar=False, legend=False).axes[0]) is None
    assert _legend_entries(viz.latent_scatter(z, colorbar=False).axes[0]) is None  # no labels

    fig = viz.prior_vs_posterior(torch.randn(100, 2), z, labels)
    cbar = fig.axes[-1]
    assert list(cbar.get_yticks()) == list(range(10)) and cbar.get_ylabel() == "digit"
    assert [a.get_xlabel() for a in fig.axes[:2]] == ["$z_1$", "$z_1$"]


def _ticks(ax, axis):
    ax.figure.canvas.draw()
    a = ax.xaxis if axis == "x" else ax.yaxis
    return list(a.get_ticklocs()), [t.get_text() for t in a.get_ticklabels()]


def test_manifold_sweep_shows_the_codes_on_its_edges():
    dec = Decoder(2, 784, hidden=(8,))
    ax = viz.manifold_sweep(dec, lim=2, n=5).axes[0]
    # Codes -2, -1, 0, 1, 2: one per image, at the images' centres (28 pixels + 2 of margin).
    centres = [30 * i + 14.5 for i in range(5)]
    assert _ticks(ax, "x") == (centres, ["\u22122", "\u22121", "0", "1", "2"])
    y = dict(zip(*_ticks(ax, "y"), strict=True))
    assert y == dict(zip(centres, ["2", "1", "0", "\u22121", "\u22122"], strict=True)), "top row: largest z2"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$z_1$", "$z_2$")

    # Ticks at round values between the images: z1 = 0 lies midway between columns 7 and 8.
    ax = viz.manifold_sweep(dec, lim=2.5, n=16).axes[0]
    locs, texts = _ticks(ax, "x")
    assert texts == ["\u22122", "\u22121", "0", "1", "2"]
    assert locs[2] == pytest.approx(centres[0] + 30 * 7.5)

    # A Gaussian-quantile grid (notebook 02): ticks too, closer together in the middle.
    q = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0.03, 0.97, 8))
    z2, z1 = torch.meshgrid(q.flip(0), q, indexing="ij")
    ax = viz.manifold_sweep(dec, grid=torch.stack([z1.flatten(), z2.flatten()], 1), n=8).axes[0]
    locs, texts = _ticks(ax, "x")
    assert texts == ["\u22121", "0", "1"] and locs[1] == pytest.approx(30 * 3.5 + 14.5)
    # Not a product grid, or axes=False: no ticks to show.
    assert _ticks(viz.manifold_sweep(dec, grid=torch.randn(25, 2), n=5).axes[0], "x")[0] == []
    assert _ticks(viz.manifold_sweep(dec, lim=2, n=5, axes=False).axes[0], "x")[0] == []


def _hlines(ax):
    return [line.get_ydata()[0] for line in ax.lines
            if len(set(line.get_ydata())) == 1 and line.get_linestyle() == "--"]


def test_loss_curves_label_their_axes_and_draw_the_fooled_discriminator_levels():
    history = {"recon": [150, 120, 100], "disc": [1.1, 1.3, 1.38], "gen": [1.0, 0.8, 0.7],
               "disc_acc": [0.8, 0.6, 0.52], "seconds": [1, 1, 1]}
    fig = viz.loss_curves(history)
    recon, disc, gen, acc = fig.axes
    assert [a.get_title() for a in fig.axes] == ["recon", "disc", "gen", "disc_acc"]
    assert {a.get_xlabel() for a in fig.axes} == {"epoch"}
    assert recon.get_ylabel() == "loss (nats per image)"
    assert disc.get_ylabel() == gen.get_ylabel() == "loss (nats)"
    assert acc.get_ylabel() == "accuracy"
    assert _hlines(recon) == []
    assert _hlines(disc) == [pytest.approx(math.log(4))]  # -log(1/2) - log(1/2)
    assert _hlines(gen) == [pytest.approx(math.log(2))]  # -log(1/2)
    assert _hlines(acc) == [0.5]
    assert "log 4" in disc.get_legend().get_texts()[0].get_text()
    assert "log 2" in gen.get_legend().get_texts()[0].get_text()

    # Semi-supervised AAE: two discriminators, so twice the levels; log 10 for the classifier.
    ss = {"recon": [1, 1], "disc": [2.7, 2.7], "gen": [1.4, 1.4], "disc_acc_y": [0.5, 0.5],
          "disc_acc_z": [0.5, 0.5], "class": [1.0, 0.5]}
    axes = viz.loss_curves(ss).axes
    assert _hlines(axes[1]) == [pytest.approx(2 * math.log(4))]
    assert _hlines(axes[2]) == [pytest.approx(2 * math.log(2))]
    assert _hlines(axes[5]) == [pytest.approx(math.log(10))]
    # Minimax generator loss log(1 - D) is negative: its level is -log 2.
    gen = viz.loss_curves({"gen": [-0.9, -0.7]}).axes[0]
    assert _hlines(gen) == [pytest.approx(-math.log(2))]
    assert _hlines(viz.loss_curves(history, references=False).axes[1]) == []
    assert viz.loss_curves(history, ylabels={"recon": "squared error"}).axes[0].get_ylabel() == (
        "squared error")


# --- diagrams: figures of a mechanism -------------------------------------------------------------


def test_discriminator_map_shows_d_of_z_with_both_clouds():
    from torch import nn

    from aae_utils.diagrams import discriminator_map

    class Constant(nn.Module):  # logit 0 everywhere: D(z) = 1/2
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, z):
            return z[:, 0] * self.w

    fig = discriminator_map(Constant(), torch.randn(40, 2), torch.randn(30, 2), resolution=12)
    ax = fig.axes[0]
    assert np.allclose(ax.images[0].get_array(), 0.5)
    offsets = [len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets")]
    assert 30 in offsets and 40 in offsets
    plt.close(fig)


def test_class_match_draws_each_class_beside_its_prior():
    from aae_utils.diagrams import class_match
    from aae_utils.priors import GaussianMixturePrior

    prior = GaussianMixturePrior(10)
    y = torch.arange(200) % 10
    fig = class_match(prior.sample(y), y, prior, per_class=15)
    titles = [a.get_title() for a in fig.axes]
    assert titles == [f"y = {k}" for k in range(10)]
    assert all(len(a.collections[0].get_offsets()) == 15 and len(a.collections[1].get_offsets()) == 15
               for a in fig.axes)
    plt.close(fig)


def test_the_1d_parzen_window_scores_as_the_estimator_does():
    from aae_utils.diagrams import parzen_window_1d
    from aae_utils.parzen import log_likelihood

    samples, points = torch.tensor([0.2, 0.25, 0.5, 0.8]), torch.tensor([0.3, 0.65])
    fig = parzen_window_1d(samples, (0.1,), points=points)
    shown = [float(t.get_text()) for t in fig.axes[0].texts]
    expected = log_likelihood(points[:, None], samples[:, None], 0.1).tolist()
    assert shown == pytest.approx(expected, abs=0.051)  # printed to one decimal
    density = fig.axes[0].lines[len(samples)].get_ydata()  # the thick line: the window's density
    assert np.trapezoid(density, fig.axes[0].lines[len(samples)].get_xdata()) == pytest.approx(1.0, abs=0.05)
    plt.close(fig)
