import pytest
import torch

from aae_utils.priors import GaussianMixturePrior, SwissRollPrior
from aae_utils.recipes import FAST_TRAIN_SIZE, recipe, train_recipe


def test_fast_mode_shrinks_data_and_epochs_not_the_network():
    full, fast = recipe("aae-2d", fast=False), recipe("aae-2d", fast=True)
    assert full.model == fast.model
    assert fast.n_train == FAST_TRAIN_SIZE and fast.train.epochs < full.train.epochs
    assert full.config != fast.config  # so the two never share a checkpoint


def test_unknown_recipe():
    with pytest.raises(ValueError, match="unknown recipe"):
        recipe("gan-2d")


def test_priors_of_notebook_04():
    assert isinstance(recipe("aae-mixture").make_prior(), GaussianMixturePrior)
    assert isinstance(recipe("aae-swiss-roll-labels").make_prior(), SwissRollPrior)
    assert recipe("ae-2d").make_prior() is None


def test_labels_for_discriminator(mnist_small):
    assert torch.equal(recipe("aae-mixture-labels", fast=True).labels_for(mnist_small), mnist_small.y)
    r = recipe("aae-mixture-partial-labels", fast=True)
    labels = r.labels_for(mnist_small)
    known = labels >= 0
    assert int(known.sum()) == 10 * r.labelled_per_class
    assert torch.equal(labels[known], mnist_small.y[known])
    assert (labels[~known] == -1).all()
    assert recipe("aae-mixture").labels_for(mnist_small) is None


def test_label_seed_draws_the_labelled_set_apart_from_the_training_seed(mnist_small):
    from dataclasses import replace

    r = recipe("ssaae-100", fast=True)
    assert r.labels_seed == r.train.seed and "label_seed" not in r.config  # old caches still match
    other_init = replace(r, train=replace(r.train, seed=1), label_seed=r.train.seed)
    assert torch.equal(other_init.labels_for(mnist_small), r.labels_for(mnist_small))
    assert other_init.config["label_seed"] == 0 and other_init.config != r.config
    assert "labelled images drawn with seed 0" in other_init.describe()
    other_labels = replace(r, label_seed=1)
    assert not torch.equal(other_labels.labels_for(mnist_small), r.labels_for(mnist_small))


def test_train_recipe_caches(mnist_small, capsys):
    r = recipe("aae-swiss-roll-labels", fast=True)
    model, history = train_recipe(r, mnist_small)
    assert len(history["recon"]) == r.train.epochs
    assert model.discriminator.cond_dim == 11
    model2, _ = train_recipe(r, mnist_small)
    assert "Loaded" in capsys.readouterr().out
    assert torch.equal(model.encoder.net[0].weight, model2.encoder.net[0].weight)
    assert "10 epochs" in recipe("aae-mixture", fast=False).describe()
    assert "decayed to" in recipe("aae-2d", fast=False).describe()


def test_describe_names_the_variants_and_the_paper_schedule():
    from dataclasses import replace

    from aae_utils.recipes import recipe

    r = recipe("ssaae-100")
    r = replace(r, train=replace(r.train, consistency=1.0, lr_decay=1.0, lr_milestones=(50, 1000)),
                model={**r.model, "init_std": 0.01, "encoder_input_dropout": 0.2})
    text = r.describe()
    assert "consistency term (weight 1, copies moved by up to 2 px; not the paper's)" in text
    assert "divided by 10 after epochs 50, 1000" in text and "decayed" not in text
    assert "N(0, 0.01^2)" in text and "dropout 0.2 on the encoder's input" in text


def test_a_short_run_keeps_its_rate_instead_of_squeezing_the_decay():
    """A recipe's decay to 5% squeezed into two epochs would train the second at a twentieth of
    the rate (issue 29: 03's traces changed at that epoch boundary, read as the game settling)."""
    r = recipe("ae-2d", fast=False)
    short = r.short(2, n_train=200)
    assert short.train.epochs == 2 and short.train.lr_decay == 1.0 and short.n_train == 200
    assert "lr 0.001 (constant)" in short.describe() and "decayed" not in short.describe()
    assert r.train.lr_decay == 0.05  # the recipe itself is unchanged
