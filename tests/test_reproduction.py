import json

import pytest

from aae_utils.reproduction import (
    describe_run,
    label_seed,
    load_ablation,
    load_runs,
    paper_table,
    summarise,
)


def _run(recipe="ssaae-1000", err=0.031, **extra):
    return {"recipe": recipe, "seed": 0, "device": "cpu", "threads": 2, "epochs": 20, "wall_s": 600,
            "history": {"test_error": [0.05, err], **extra}, "final_test_error": err}


def test_load_runs_and_table(tmp_path):
    (tmp_path / "reproduce-ssaae-1000-seed0-cpu.json").write_text(json.dumps(_run()))
    (tmp_path / "reproduce-cluster-16-seed0-cpu.json").write_text(
        json.dumps(_run("cluster-16", 0.2, test_error_majority=[0.3, 0.15])))
    (tmp_path / "speed-cpu.json").write_text("{}")  # other results are ignored
    runs = load_runs(tmp_path)
    assert [r["recipe"] for r in runs] == ["cluster-16", "ssaae-1000"]
    assert describe_run(runs[1]) == "20 epochs, cpu (2 threads), seed 0"
    table = "\n".join(paper_table(runs))
    # the paper's quoted length beside our run's
    assert ("| MNIST, 1000 labels | 1.60 ± 0.08 | 5000 epochs | 3.10 | "
            "20 epochs, cpu (2 threads), seed 0, 10 min |") in table
    assert "| MNIST, 16 clusters, no labels | 9.55 ± 2.05 | 1500 epochs | 20.00" in table
    assert "20.00 (majority rule: 15.00)" in table
    assert "| MNIST, 100 labels | 1.90 ± 0.10 | 5000 epochs | not run yet | |" in table


def test_broken_result_files_are_named(tmp_path):
    (tmp_path / "reproduce-x.json").write_text("{not json")
    with pytest.raises(ValueError, match="reproduce-x.json is not valid JSON"):
        load_runs(tmp_path)
    (tmp_path / "reproduce-x.json").write_text(json.dumps({"recipe": "ssaae-100"}))
    with pytest.raises(ValueError, match="reproduce-x.json lacks"):
        load_runs(tmp_path)


def test_table_rows_can_be_limited():
    rows = paper_table([], names=["cluster-30"])
    assert len(rows) == 3 and "30 clusters" in rows[2]
    with pytest.raises(ValueError, match="no paper result"):
        paper_table([], names=["ssaae-60000"])


def test_several_runs_get_a_mean_and_std_row():
    runs = [_run("ssaae-100", 0.03), {**_run("ssaae-100", 0.05), "seed": 1},
            {**_run("ssaae-100", 0.04), "seed": 1, "label_seed": 0},
            {**_run("ssaae-100", 0.09), "epochs": 5}]  # another length: not averaged in
    (mean, std, n), = summarise(runs).values()
    assert n == 3 and mean == pytest.approx(4.0) and std == pytest.approx(1.0)
    table = "\n".join(paper_table(runs, names=["ssaae-100"]))
    assert "| **4.00 ± 1.00** | mean ± std of the 3 runs of 20 epochs above |" in table
    assert "seed 1, labelled set of seed 0" in table
    assert describe_run(runs[0]).endswith("seed 0")  # no label seed: nothing added
    assert [label_seed(r) for r in runs[:3]] == [0, 1, 0]  # recorded --label-seed, else the seed
    assert summarise(runs[:1]) == {}  # one run is no spread
    # seed 1 with labelled set 0 sorts before seed 1 with its own set (label seed 0 is a seed)
    assert table.index("seed 1, labelled set of seed 0") < table.index("seed 1, 10 min")


def test_tuned_variants_are_named_and_averaged_apart():
    from aae_utils.recipes import recipe

    model = recipe("cluster-16").model  # the recipe as it stands
    base = [{**_run("cluster-16", e), "seed": k, "settings": {"model": model}}
            for k, e in enumerate((0.40, 0.44))]
    tuned = [{**_run("cluster-16", e), "seed": k,
              "settings": {"model": {**model, "style_dim": 3}, "overrides": ["model.style_dim=3"]}}
             for k, e in enumerate((0.30, 0.34))]
    summary = summarise(base + tuned)
    assert summary[("cluster-16", 20, ())][0] == pytest.approx(42.0)
    assert summary[("cluster-16", 20, ("model.style_dim=3",))][0] == pytest.approx(32.0)
    assert describe_run(tuned[0]).endswith("seed 0, with model.style_dim=3")
    table = "\n".join(paper_table(base + tuned, names=["cluster-16"]))
    assert "mean ± std of the 2 runs of 20 epochs, with model.style_dim=3 above" in table
    # each mean sits right below its own runs, not below the variant's
    rows = [[cell.strip() for cell in row.strip("|").split("|")] for row in table.splitlines()[2:]]
    assert [row[4].startswith("mean") for row in rows] == [False, False, True] * 2
    # the paper's columns once per setting: its runs read as one group
    assert [bool(row[0]) for row in rows] == [True] + [False] * 5


def test_variants_are_read_from_the_recorded_settings_against_the_recipe_now():
    from aae_utils.recipes import recipe
    from aae_utils.reproduction import run_overrides

    r = recipe("cluster-30")
    now = {"model": r.model, "train": r.train.to_dict()}
    # a --set the recipe has since adopted no longer sets the run apart...
    adopted = {"recipe": "cluster-30",
               "settings": {**now, "overrides": [f"model.style_dim={r.model['style_dim']}"]}}
    assert run_overrides(adopted) == ()
    # ...and a run made before the recipe changed is marked with what it ran
    older = {"recipe": "cluster-30",
             "settings": {"model": {**r.model, "style_dim": 2}, "train": now["train"], "overrides": []}}
    assert run_overrides(older) == ("model.style_dim=2",)
    paper = {"recipe": "cluster-30", "settings": {"preset": "paper", "overrides": ["train.lr=0.02"]}}
    assert run_overrides(paper) == ("the paper's settings (--paper)", "train.lr=0.02")


def _ablation_file(folder, variant, seed=0, **extra):
    run = {"variant": variant, "seed": seed, "epochs": 3, "final_test_error": 0.05,
           "phases_switched_off": [], **extra}
    (folder / f"ablation-ssaae-1000-quick-{variant}-seed{seed}.json").write_text(json.dumps(run))


def test_ablation_runs_come_in_table_order(tmp_path):
    for variant in ("labels-only", "full", "no-adversarial", "no-categorical"):
        _ablation_file(tmp_path, variant)
    _ablation_file(tmp_path, "full", seed=1)
    assert [(r["seed"], r["variant"]) for r in load_ablation(tmp_path)] == [
        (0, "full"), (0, "no-categorical"), (0, "no-adversarial"), (0, "labels-only"), (1, "full")]


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not valid JSON"),
    (json.dumps({"variant": "full"}), "lacks"),
    (json.dumps({"variant": "no-decoder", "seed": 0, "epochs": 3, "final_test_error": 0.1,
                 "phases_switched_off": []}), "unknown variant 'no-decoder'"),
])
def test_broken_ablation_files_are_named(tmp_path, content, message):
    (tmp_path / "ablation-x.json").write_text(content)
    with pytest.raises(ValueError, match=message) as err:
        load_ablation(tmp_path)
    assert "ablation-x.json" in str(err.value)


def test_the_recorded_ablation_is_readable():
    runs = load_ablation()
    assert all(0 < r["final_test_error"] < 1 for r in runs)


def _parzen_record(recipe, ll, **extra):
    return {"recipe": recipe, "seed": 0, "device": "cpu", "final_parzen_ll": ll, "final_parzen_stderr": 1.5,
            "final_sigma": 0.17, "wall_s": 600.0, "description": f"{recipe} samples", **extra}


def test_parzen_table_puts_our_runs_beside_table_1(tmp_path):
    from aae_utils.reproduction import PAPER_PARZEN, load_parzen, parzen_table

    aae = _parzen_record("aae-8d", 321.04, epochs=40, threads=2, history={}, settings={})
    (tmp_path / "parzen-aae-8d-seed0-cpu.json").write_text(json.dumps(aae))
    (tmp_path / "parzen-kmeans-seed0-cpu.json").write_text(json.dumps(_parzen_record("kmeans", 299.0)))
    (tmp_path / "parzen-aae-8d-seed0-cpu-fast.json").write_text(json.dumps({**aae, "fast": True}))
    runs = load_parzen(tmp_path)
    assert [r["recipe"] for r in runs] == ["aae-8d", "kmeans"]
    lines = parzen_table(runs)
    assert lines[2] == ("| AAE (8-D code) | 340 ± 2 | 321.0 ± 1.5 | 40 epochs, cpu (2 threads), seed 0, "
                        "σ = 0.170, 10 min |")
    assert sum("not trained here" in line for line in lines) == len(PAPER_PARZEN) - 1
    assert any(line.startswith("| k-means") and "299.0 ± 1.5" in line for line in lines)
    assert any(line.startswith("| memoriser") and "not run here" in line for line in lines)
    assert not any(line.startswith("| VAE") for line in lines)  # no VAE run: no row
    vae = _parzen_record("vae-8d", 290.0, epochs=40, threads=2, history={}, settings={},
                         final_is_ll=410.25, final_parzen_ll_is_images=287.5)
    (vae_row,) = [line for line in parzen_table([*runs, vae]) if line.startswith("| VAE")]
    assert "| not in Table 1 | 290.0 ± 1.5 |" in vae_row
    assert "Parzen value is 287.5 and the importance-sampled one 410.2" in vae_row
    compact = parzen_table(runs, rows=("kmeans",))  # notebook 08: the AAE and one baseline
    assert [line.split(" | ")[0] for line in compact[2:]] == ["| AAE (8-D code)", "| k-means: 10,000 "
                                                            "centroids of the training images (not a model)"]
    with pytest.raises(ValueError, match="rows: no such row"):
        parzen_table(runs, rows=("gan",))


def test_broken_parzen_files_are_named(tmp_path):
    from aae_utils.reproduction import load_parzen

    (tmp_path / "parzen-aae-8d-seed0-cpu.json").write_text(json.dumps({"recipe": "aae-8d"}))
    with pytest.raises(ValueError, match="parzen-aae-8d-seed0-cpu.json lacks"):
        load_parzen(tmp_path)


def test_recorded_runs_travel_with_the_package():
    """aae_utils/recorded/ holds exactly bench/results' run records, byte for byte, so notebooks
    06-08 show the same tables after pip install as in a clone."""
    from aae_utils.config import REPO_ROOT
    from aae_utils.reproduction import PACKAGED, recorded_files

    results = {p.name: p.read_bytes() for p in recorded_files(REPO_ROOT / "bench" / "results")}
    packaged = {p.name: p.read_bytes() for p in recorded_files(PACKAGED)}
    assert results, "no recorded runs in bench/results"
    stale = sorted(n for n in results.keys() | packaged.keys() if results.get(n) != packaged.get(n))
    assert not stale, f"aae_utils/recorded/ is out of step for {stale}: run python bench/report.py"


def test_sync_recorded_copies_and_removes(tmp_path):
    from aae_utils.reproduction import sync_recorded

    src, dst = tmp_path / "results", tmp_path / "recorded"
    src.mkdir()
    (src / "reproduce-a.json").write_text("{}")
    (src / "speed-cpu.json").write_text("{}")  # not a run record: stays behind
    dst.mkdir()
    (dst / "parzen-gone.json").write_text("{}")
    assert sorted(sync_recorded(src, dst)) == ["parzen-gone.json", "reproduce-a.json"]
    assert [p.name for p in dst.iterdir()] == ["reproduce-a.json"]
    assert sync_recorded(src, dst) == []


def test_summary_table_gives_the_recipe_and_one_marked_variant():
    from aae_utils.reproduction import summary_table

    runs = [_run("ssaae-100", 0.03), {**_run("ssaae-100", 0.05), "seed": 1},
            {**_run("ssaae-100", 0.09), "epochs": 5},  # a length with fewer runs: left out
            {**_run("ssaae-100", 0.01), "partial": True, "epochs_done": 3},  # cut short: left out
            {**_run("ssaae-100", 0.02), "settings": {"preset": "paper"}},  # another method
            _run("ssaae-1000", 0.025)]
    paper = "the paper's settings (--paper)"
    table = "\n".join(summary_table(runs, ["ssaae-100", "ssaae-1000"], marked=(paper,)))
    assert ("| MNIST, 100 labels | 1.90 ± 0.10 | 4.00 ± 1.41 | 2 runs of 20 epochs, cpu "
            "(paper: 5000, as quoted) |") in table
    assert "| MNIST, 1000 labels | 1.60 ± 0.08 | 2.50 | 1 run of 20 epochs" in table
    assert "with the paper's settings (--paper) (marked: not the paper's method) | | 2.00 |" in table
    assert table.count("marked") == 1  # ssaae-1000 has no such variant: no row
    assert "| MNIST, 16 clusters, no labels | 9.55 ± 2.05 | not run yet | |" in "\n".join(
        summary_table([], ["cluster-16"]))
    with pytest.raises(ValueError, match="no paper result"):
        summary_table([], ["ssaae-60000"])


def test_the_paper_preset_lives_in_the_package_with_its_sources():
    from aae_utils.reproduction import PAPER_EPOCHS, PAPER_PRESET, PAPER_SOURCES

    assert f"train.epochs={PAPER_EPOCHS['ssaae-100']}" in PAPER_PRESET["semi"]
    assert "model.hidden=[3000, 3000]" in PAPER_PRESET["cluster"]
    assert all(source for source in PAPER_SOURCES.values())


def test_terms_table_rows_by_added_terms():
    from aae_utils.reproduction import terms_table

    def run(seed, err, majority, used, changes=(), partial=False, evaluated=2):
        r = _run("cluster-30", err, test_error_majority=[0.5, majority], clusters_used=[30, used],
                 confidence=[0.5, 0.9])
        r["history"]["test_error"] = [0.5] * (evaluated - 1) + [err]
        r.update(seed=seed, partial=partial, settings={"preset": "paper", "overrides": list(changes)})
        return r

    cons = ("train.consistency=1.0",)
    runs = [run(0, 0.20, 0.18, 30), run(1, 0.24, 0.20, 28),
            run(0, 0.17, 0.16, 19, cons), run(0, 0.60, 0.55, 24, cons + ("x=1",), partial=True)]
    # The runs above are marked as --paper runs so that their --set changes are what they recorded.
    paper = ("the paper's settings (--paper)",)
    del runs[1]["history"]["confidence"]  # an older run that did not log it
    rows = terms_table(runs, "cluster-30", {"recipe": paper, "+ consistency": paper + cons,
                                             "+ both": paper + cons + ("x=1",)})
    assert rows[2] == "| recipe | 22.00 ± 2.83 | 19.00 ± 1.41 | 29 ± 1 | not logged | seeds 0, 1, 20 epochs |"
    assert rows[3] == "| + consistency | 17.00 | 16.00 | 19 | 0.90 | seed 0, 20 epochs |"
    assert rows[4] == "| + both | 60.00 | 55.00 | 24 | 0.90 | seed 0, unfinished: 2 of 20 epochs |"
    assert terms_table(runs, "cluster-30", {"recipe": paper}, seeds=(1,))[2].startswith("| recipe | 24.00 |")
    with pytest.raises(ValueError, match="no run of cluster-30 with"):
        terms_table(runs, "cluster-30", {"other": ("train.lr=1",)})
    runs[1]["history"]["clusters_used"][-1] = 30  # every seed uses all 30: one number, no "± 0"
    assert "| 30 | not logged |" in terms_table(runs, "cluster-30", {"recipe": paper})[2]


def test_summary_table_marks_a_variant_of_several_changes():
    from aae_utils.reproduction import summary_table

    runs = []
    for seed, err, changes in ((0, 0.2, []), (0, 0.15, ["b=1", "a=2"])):
        r = _run("cluster-30", err)
        r.update(seed=seed, settings={"preset": "paper", "overrides": changes})
        runs.append(r)
    paper = "the paper's settings (--paper)"
    rows = summary_table(runs, ["cluster-30"], marked=((paper, "a=2", "b=1"),))
    assert rows[-1].startswith(f"| MNIST, 30 clusters, no labels, with {paper}, a=2, b=1 (marked: not the "
                               "paper's method) | | 15.00 |")
