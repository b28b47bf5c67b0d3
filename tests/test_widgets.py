"""The latent explorer, driven programmatically as a learner's clicks would drive it."""

import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image

from aae_utils.models import build_model
from aae_utils.priors import GaussianPrior, SwissRollPrior
from aae_utils.viz import image_grid
from aae_utils.widgets import LatentExplorer


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {
        "plain": build_model("aae", latent_dim=2, hidden=[32]),
        "supervised": build_model("aae", latent_dim=5, hidden=[32], decoder_cond_dim=10),
        "semi": build_model("ssaae", style_dim=3, hidden=[32]),
    }


@pytest.fixture(scope="module")
def images():
    g = torch.Generator().manual_seed(1)
    return torch.rand(200, 784, generator=g), torch.randint(0, 10, (200,), generator=g)


def _png_pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_slider_moves_the_point_and_the_image_is_the_decoders(models, images):
    x, y = images
    e = LatentExplorer(models["plain"], x, y, GaussianPrior(2))
    before_img, before_png = e.image.clone(), e.decoded_image.value
    before_scatter = e.scatter_image.value
    e.sliders[0].value = 1.5
    e.sliders[1].value = -1.0
    assert torch.equal(e.code, torch.tensor([1.5, -1.0]))
    assert not torch.allclose(e.image, before_img), "moving the point must change the image"
    assert e.decoded_image.value != before_png
    assert e.scatter_image.value != before_scatter, "the marker must move on the scatter"
    expected = models["plain"].decoder.images(torch.tensor([[1.5, -1.0]])).view(28, 28)
    assert torch.allclose(e.image, expected, atol=1e-6)
    # The PNG the learner sees is that image, scaled up, dark ink on white (as image_grid).
    shown = _png_pixels(e.decoded_image.value)
    assert shown.shape == (28 * 8, 28 * 8)
    assert abs(int(shown[4, 4]) - round((1 - float(expected[0, 0])) * 255)) <= 1
    assert "1.50, -1.00" in e.readout.value


def test_digit_selector_changes_content_for_a_supervised_decoder(models, images):
    x, y = images
    e = LatentExplorer(models, x, y, {"plain": GaussianPrior(2), "supervised": GaussianPrior(5)},
                       selector_label="model")
    assert e.digit.layout.display == "none", "no digit selector for an unconditional decoder"
    e.select("supervised")
    assert len(e.sliders) == 5 and e.digit.layout.display is None
    e.set_code([0.5, -0.5, 0.2, 0.0, 1.0])
    e.digit.value = 2
    two = e.image.clone()
    e.digit.value = 7
    cond = torch.zeros(1, 10)
    cond[0, 7] = 1
    expected = models["supervised"].decoder.images(e.code[None], cond).view(28, 28)
    assert torch.allclose(e.image, expected, atol=1e-6)
    assert not torch.allclose(e.image, two)


def test_semi_supervised_model_and_prior_sampling(models, images):
    x, y = images
    e = LatentExplorer({"semi": models["semi"]}, x, y)
    assert len(e.sliders) == 3 and e.view.num_classes == 10
    e.digit.value = 4
    e.sample()  # without a prior: jumps to some image's style code
    y4 = torch.zeros(1, 10)
    y4[0, 4] = 1
    expected = models["semi"].images(y4, e.code[None]).view(28, 28)
    assert torch.allclose(e.image, expected, atol=1e-6)


def test_switching_models_keeps_each_prior(models, images):
    x, y = images
    roll = SwissRollPrior()
    e = LatentExplorer({"gauss": models["plain"], "roll": models["plain"]}, x, y,
                       {"gauss": GaussianPrior(2), "roll": roll}, selector_label="prior")
    assert e.selector.options == ("gauss", "roll")
    lim_gauss = e.sliders[0].max
    e.select("roll")
    assert e.sliders[0].max != lim_gauss, "slider range follows the selected prior"
    e.sample()
    assert roll.dim == 2 and len(e.code) == 2


def test_still_image_for_renderers_without_a_kernel(models, images):
    x, y = images
    e = LatentExplorer(models["plain"], x, y)
    bundle = e._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    still = _png_pixels(base64.b64decode(bundle["image/png"]))
    assert still.shape[1] > still.shape[0] >= 28 * 8  # scatter and image side by side
    assert bundle["text/plain"].startswith("LatentExplorer(")


def test_bad_input_says_what_to_do(models, images):
    x, y = images
    with pytest.raises(ValueError, match="at least 2-D"):
        LatentExplorer(build_model("aae", latent_dim=1, hidden=[8]), x)
    with pytest.raises(ValueError, match="prior .* is 5-D"):
        LatentExplorer(models["plain"], x, priors=GaussianPrior(5))
    with pytest.raises(ValueError, match="unknown models"):
        LatentExplorer({"a": models["plain"]}, x, priors={"b": GaussianPrior(2)})
    with pytest.raises(TypeError, match="not a torch model"):
        LatentExplorer({"a": "model.pt"}, x)
    square = LatentExplorer(models["plain"], x.view(-1, 28, 28))  # (N, 28, 28): flattened
    assert np.array_equal(square.view.codes, LatentExplorer(models["plain"], x).view.codes)
    with pytest.raises(ValueError, match=r"x must be a batch of images of shape \(N, 784\)"):
        LatentExplorer(models["plain"], x[:, :100])
    with pytest.raises(ValueError, match=r"labels must be 1-D, shape \(\d+,\).*same length"):
        LatentExplorer(models["plain"], x, y[:5])
    e = LatentExplorer(models["plain"], x)
    with pytest.raises(ValueError, match="2-D code, got 3"):
        e.set_code([0, 0, 0])
    with pytest.raises(ValueError, match="no model 'x'"):
        e.select("x")


def test_view_reference_without_ipywidgets_8_repr(models, images):
    """ipywidgets 7 (Colab's) has no _repr_mimebundle_ on widgets; the view is built by hand."""
    from types import SimpleNamespace

    e = LatentExplorer(models["plain"], images[0])
    e.widget = SimpleNamespace(model_id="abc123")
    view = e._repr_mimebundle_()["application/vnd.jupyter.widget-view+json"]
    assert view == {"version_major": 2, "version_minor": 0, "model_id": "abc123"}


def test_decoded_digit_is_drawn_as_image_grid_draws_digits(models, images):
    """Black ink on white, as every other image of the course: an empty image is white."""
    import matplotlib.pyplot as plt

    x, y = images
    e = LatentExplorer(models["plain"], x, y)
    digit = torch.zeros(28, 28)
    digit[6:22, 12:15] = 1.0  # a "1": a vertical stroke
    digit[6:9, 9:12] = 0.5
    e.view.decode = lambda z, label: digit
    e.set_code([0.0, 0.0])
    shown = _png_pixels(e.decoded_image.value).astype(float)
    assert shown.mean() > 200, "mostly background: mostly white"
    assert shown[8 * 10, 8 * 13] == 0, "full ink: black"
    # Pixel for pixel what image_grid shows (its colormap applied to its canvas).
    fig = image_grid(digit[None], nrow=1)
    im = fig.axes[0].images[0]
    grid = im.to_rgba(im.get_array())[1:29, 1:29, 0] * 255  # one image inside a 1-pixel margin
    plt.close(fig)
    assert np.abs(shown[::8, ::8] - grid).max() <= 1
    # The still for renderers without a kernel shows the same pixels.
    still = e.snapshot()
    assert (still[..., :3] == 255).all(-1).mean() > 0.5 and (still[..., :3] == 0).any()
    assert e.decoded_image.layout.border == "1px solid black"


def test_scatter_of_the_explorer_keys_the_digit_colours(models, images):
    """The scatter (drawn once) uses the course's digit colours and carries their legend."""
    from matplotlib.colors import to_rgb

    from aae_utils.viz import DIGIT_COLORS

    x, y = images
    e = LatentExplorer(models["plain"], x, y, GaussianPrior(2))
    rgb = e.view.background[..., :3].reshape(-1, 3).astype(int)
    for colour in DIGIT_COLORS:  # the legend's opaque dots hold each exact colour
        target = np.round(np.array(to_rgb(colour)) * 255).astype(int)
        assert (np.abs(rgb - target).max(1) <= 2).any(), colour
    plain = LatentExplorer(models["plain"], x)  # no labels: no digit colours, no key
    rgb = plain.view.background[..., :3].reshape(-1, 3).astype(int)
    for colour in DIGIT_COLORS[1:3]:  # orange, red: far from the unlabelled codes' blue
        target = np.round(np.array(to_rgb(colour)) * 255).astype(int)
        assert not (np.abs(rgb - target).max(1) <= 2).any(), colour
