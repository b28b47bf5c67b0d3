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


def _fast(*extra, tmp_path, mnist_root):
    return ["semi", "--labels", "100", "--fast", "--out", str(tmp_path / "out"), "--data", str(mnist_root),
            "--state-dir", str(tmp_path / "state"), "--threads", "1", *extra]


def test_a_run_cut_by_its_budget_is_recorded_and_continued(reproduce, mnist_root, tmp_path, capsys):
    # The whole run, uninterrupted, for reference.
    assert reproduce.main(_fast("--tag", "whole", tmp_path=tmp_path, mnist_root=mnist_root)) == 0
    (whole,) = (tmp_path / "out").glob("*-whole.json")
    whole = json.loads(whole.read_text())

    # A budget too small for a second epoch: stops after the first, recorded as partial.
    assert reproduce.main(_fast("--budget-minutes", "0.0001", tmp_path=tmp_path, mnist_root=mnist_root)) == 0
    assert "stopping after epoch 1 of 2" in capsys.readouterr().out
    (path,) = (tmp_path / "out").glob("*-fast.json")
    cut = json.loads(path.read_text())
    assert cut["partial"] is True and cut["epochs_done"] == 1 and "budget" in cut["stopped"]
    assert cut["evaluated_epochs"] == [1] and len(cut["history"]["test_error"]) == 1
    assert list((tmp_path / "state").glob("*.partial.pt"))  # the state to continue from

    # The same command without the budget continues it, to the uninterrupted run's result.
    assert reproduce.main(_fast(tmp_path=tmp_path, mnist_root=mnist_root)) == 0
    assert "Resuming after epoch 1" in capsys.readouterr().out
    done = json.loads(path.read_text())
    assert done["partial"] is False and "stopped" not in done and done["epochs_done"] == 2
    assert done["evaluated_epochs"] == [1, 2]
    assert done["history"]["test_error"] == whole["history"]["test_error"]
    assert done["history"]["recon"] == whole["history"]["recon"]
    assert not list((tmp_path / "state").glob("*.partial.pt"))


def test_partial_runs_are_shown_as_such_and_never_averaged(tmp_path):
    from aae_utils.reproduction import describe_run, load_runs, summarise

    base = {"recipe": "ssaae-100", "device": "cpu", "epochs": 70, "history": {}, "wall_s": 60}
    runs = [{**base, "seed": 0, "final_test_error": 0.03},
            {**base, "seed": 1, "final_test_error": 0.04},
            {**base, "seed": 2, "final_test_error": 0.09, "partial": True, "epochs_done": 3},
            {**base, "seed": 3, "final_test_error": None, "partial": True, "epochs_done": 0}]
    for r in runs:
        (tmp_path / f"reproduce-ssaae-100-seed{r['seed']}-cpu.json").write_text(json.dumps(r))
    loaded = load_runs(tmp_path)
    assert [r["seed"] for r in loaded] == [0, 1, 2]  # nothing measured yet: no row
    assert describe_run(loaded[2]).startswith("3 of 70 epochs (partial)")
    ((mean, _, n),) = summarise(loaded).values()
    assert n == 2 and abs(mean - 3.5) < 1e-9


def test_seeds_run_as_parallel_processes(reproduce, mnist_root, tmp_path):
    assert reproduce.main(_fast("--seeds", "0", "1", tmp_path=tmp_path, mnist_root=mnist_root)) == 0
    runs = {json.loads(p.read_text())["seed"]: json.loads(p.read_text())
            for p in (tmp_path / "out").glob("*.json")}
    assert set(runs) == {0, 1}
    assert all(r["partial"] is False and r["threads"] == 1 for r in runs.values())
    assert runs[0]["final_test_error"] != runs[1]["final_test_error"] or (
        runs[0]["history"]["recon"] != runs[1]["history"]["recon"])


@pytest.mark.parametrize("args, message", [
    (["--budget-minutes", "0"], "--budget-minutes must be positive"),
    (["--seeds", "1", "1"], "lists a seed twice"),
    (["--eval-every", "0"], "--eval-every must be at least 1"),
])
def test_bad_arguments_are_named(reproduce, args, message, capsys):
    with pytest.raises(SystemExit):
        reproduce.main(["semi", *args])
    assert message in capsys.readouterr().err


def test_paper_preset_is_applied_recorded_and_named(reproduce, mnist_root, tmp_path):
    assert reproduce.main(_fast("--paper", "--epochs", "1", tmp_path=tmp_path, mnist_root=mnist_root)) == 0
    (path,) = (tmp_path / "out").glob("*-fast-paper.json")
    run = json.loads(path.read_text())
    train, model = run["settings"]["train"], run["settings"]["model"]
    assert train["optimizer"] == "sgd" and train["lr"] == 0.01 and train["disc_lr"] == 0.1
    assert train["lr_milestones"] == [50, 1000] and train["epochs"] == 1  # --epochs wins
    assert model["init_std"] == 0.01 and model["encoder_dropout"] == 0.0
    assert run["settings"]["preset"] == "paper"
    from aae_utils.reproduction import describe_run

    assert "the paper's settings (--paper)" in describe_run(run)


def test_a_diverged_run_is_recorded_as_such(reproduce, mnist_root, tmp_path, monkeypatch):
    real_fit = reproduce.fit

    def fit_that_diverges_in_epoch_2(model, data, config, **kwargs):
        def epoch_end(epoch, history):
            kwargs["epoch_end"](epoch, history)
            raise FloatingPointError("training diverged: the reconstruction loss became nan in "
                                     "epoch 2, step 3. Usual remedies: lower the learning rate")
        return real_fit(model, data, config, **{**kwargs, "epoch_end": epoch_end})

    monkeypatch.setattr(reproduce, "fit", fit_that_diverges_in_epoch_2)
    assert reproduce.main(_fast(tmp_path=tmp_path, mnist_root=mnist_root)) == 1
    (path,) = (tmp_path / "out").glob("*-fast.json")
    run = json.loads(path.read_text())
    assert run["partial"] is True and run["epochs_done"] == 1
    assert run["stopped"].startswith("diverged: training diverged: the reconstruction loss became nan")
    from aae_utils.reproduction import describe_run

    assert describe_run(run).startswith("1 of 2 epochs (partial, diverged after it)")


@pytest.mark.parametrize("model", ["aae", "vae"])
def test_parzen_run_records_table_1s_number(reproduce, mnist_root, tmp_path, model):
    args = ["parzen", "--model", model, "--fast", "--parzen-samples", "500", "--threads", "1",
            "--out", str(tmp_path), "--data", str(mnist_root), "--state-dir", str(tmp_path / "state")]
    assert reproduce.main(args) == 0
    (path,) = tmp_path.glob(f"parzen-{model}-8d-seed0-*-fast.json")
    run = json.loads(path.read_text())
    assert run["evaluated_epochs"] == [1, 2] and run["parzen_samples"] == 500
    assert run["final_parzen_ll"] == run["history"]["parzen_ll"][-1]
    assert run["final_parzen_stderr"] > 0 and 0.05 < run["final_sigma"] < 1
    assert ("final_is_ll" in run) == (model == "vae")
    assert "final_test_error" not in run or run["final_test_error"] is None
    from aae_utils.reproduction import load_parzen, load_runs

    assert load_parzen(tmp_path) == [] and load_runs(tmp_path) == []  # fast: never in README


def test_parzen_has_no_paper_preset(reproduce):
    with pytest.raises(SystemExit, match="--paper has no preset for parzen"):
        reproduce.main(["parzen", "--paper"])


def test_parzen_baselines_score_the_memoriser_and_kmeans(mnist_root, tmp_path):
    from conftest import load_bench

    baselines = load_bench("parzen_baselines")
    assert baselines.main(["--samples", "300", "--kmeans-iterations", "2", "--data", str(mnist_root),
                           "--out", str(tmp_path)]) == 0
    from aae_utils.reproduction import load_parzen, parzen_table

    runs = {r["recipe"]: r for r in load_parzen(tmp_path)}
    assert set(runs) == {"memoriser", "kmeans"}
    assert runs["kmeans"]["settings"]["iterations"] == 2 and runs["memoriser"]["parzen_samples"] == 300
    table = "\n".join(parzen_table(list(runs.values())))
    assert f"{runs['kmeans']['final_parzen_ll']:.1f} ± {runs['kmeans']['final_parzen_stderr']:.1f}" in table
