"""bench/reproduce.py: the harness behind README's paper table, run end to end in fast mode."""

import json

import pytest


@pytest.mark.parametrize("args", [["semi", "--labels", "100"], ["cluster", "--clusters", "16"]])
def test_fast_run_writes_a_complete_json(reproduce, mnist_root, tmp_path, args):
    assert reproduce.main([*args, "--fast", "--out", str(tmp_path), "--data", str(mnist_root)]) == 0
    (path,) = tmp_path.glob("reproduce-*-fast.json")
    run = json.loads(path.read_text())
    assert run["fast"] is True and run["epochs"] == 2 and run["evaluated_epochs"] == [1, 2]
    assert len(run["history"]["test_error"]) == 2 and 0 <= run["final_test_error"] <= 1
    assert run["settings"]["validation"] == 10_000
    if args[0] == "cluster":
        assert "test_error_majority" in run["history"]
    # the table reads it back
    from aae_utils.reproduction import load_runs, paper_table

    assert load_runs(tmp_path) == []  # fast runs never reach README's table...
    table = "\n".join(paper_table(load_runs(tmp_path, include_fast=True)))  # ...unless asked
    assert f"| {100 * run['final_test_error']:.2f}" in table


def test_label_seed_is_recorded_and_named(reproduce, mnist_root, tmp_path):
    args = ["semi", "--labels", "100", "--fast", "--seed", "1", "--label-seed", "0"]
    assert reproduce.main([*args, "--out", str(tmp_path), "--data", str(mnist_root)]) == 0
    (path,) = tmp_path.glob("reproduce-ssaae-100-seed1-*-labels0-fast.json")
    run = json.loads(path.read_text())
    assert run["seed"] == 1 and run["label_seed"] == 0


def test_overrides_are_checked(reproduce):
    from aae_utils.recipes import recipe

    r = reproduce.apply_overrides(recipe("ssaae-100", fast=True), ["train.lr=3e-4", "model.style_dim=4"])
    assert r.train.lr == 3e-4 and r.model["style_dim"] == 4
    with pytest.raises(SystemExit, match="unknown training setting"):
        reproduce.apply_overrides(r, ["train.learning_rate=1"])
    with pytest.raises(SystemExit, match="expects model"):
        reproduce.apply_overrides(r, ["lr=1"])
    with pytest.raises(SystemExit, match="--labels must be 100 or 1000"):
        reproduce.main(["semi", "--labels", "250"])
