"""Nothing lost when the disk says no (issue 27): every entry point that writes, against every kind
of write failure (tests/disk_faults.py), with its right behaviour.

- Where the work can go on (training, loading data, a benchmark that has measured its numbers),
  it goes on: the trained model is returned, the data loaded, the numbers recorded or printed,
  and what could not be written is said once, naming the file and the reason.
- Where the write is the work (a checkpoint saved by hand, a tool that writes files), a
  ``WriteError`` names the file and the reason.
- Either way no half-written or temporary file is left for a later run to read.
"""

from __future__ import annotations

import json
import time
import types

import pytest
import torch
from disk_faults import KINDS, failing_folder, files_under

from aae_utils import checkpoints, writes
from aae_utils.engine import fit
from aae_utils.models import build_model
from aae_utils.priors import GaussianPrior
from aae_utils.train_config import TrainConfig

SMALL = {"kind": "aae", "latent_dim": 2, "hidden": [32, 32], "posterior": "gaussian", "input_noise": 0.2}
CONFIG = {"model": SMALL, "train": {"epochs": 3}}

#: What the message says for each kind of failure.
REASON = {
    "no-space": "no space left on the disk",
    "read-only": "is on a read-only file system",
    "no-permission": "no permission to write in",
    "file-in-the-way": "is a file, not a folder",
}


@pytest.fixture(params=KINDS)
def kind(request):
    return request.param


@pytest.fixture
def data(mnist_small):
    return mnist_small.subset(slice(0, 600))


def _train(data):
    return lambda m: fit(m, data, TrainConfig(epochs=3, lr_decay=0.5), prior=GaussianPrior(2),
                         progress=False)


def _numbers(history):
    return {k: v for k, v in history.items() if k != "seconds"}


def _same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(),
                                                  strict=True))


def _broken(kind, folder, monkeypatch, *, existing: dict | None = None):
    """``folder`` made to fail as ``kind``; ``existing`` files are written into it first (what an
    earlier run left there), except where the folder is a file."""
    if kind != "file-in-the-way":
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in (existing or {}).items():
            (folder / name).write_bytes(content)
    return failing_folder(kind, folder, monkeypatch)


# --- the primitive ----------------------------------------------------------------------------


def test_atomic_write_leaves_the_old_file_or_none(kind, tmp_path, monkeypatch):
    folder = _broken(kind, tmp_path / "out", monkeypatch, existing={"run.json": b'{"old": 1}\n'})
    before = files_under(folder)
    with pytest.raises(writes.WriteError) as info:
        writes.atomic_write(folder / "run.json", '{"new": 2}\n' * 100)
    message = str(info.value)
    assert message.startswith("could not write ") and "run.json" in message and REASON[kind] in message
    monkeypatch.undo()
    assert files_under(folder) == before  # no temporary file left
    if kind != "file-in-the-way":
        assert (folder / "run.json").read_bytes() == b'{"old": 1}\n'


def test_a_full_disk_says_how_much_was_needed(tmp_path, monkeypatch):
    folder = _broken("no-space", tmp_path / "out", monkeypatch)
    with pytest.raises(writes.WriteError, match=r"it needs 250 kB; [\d.]+ [kMG]B free there"):
        writes.atomic_write(folder / "big.bin", b"x" * 250_000)


def test_torchs_full_disk_error_is_a_write_failure():
    # what torch.save raises when it writes to a full disk itself (seen on a 256 kB tmpfs)
    err = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534")
    assert writes.is_write_failure(err) and writes.is_write_failure(OSError(28, "No space"))
    assert not writes.is_write_failure(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    assert "no space left" in writes.describe(err, "data/x.pt")


# --- training: the model is never lost ----------------------------------------------------------


def test_fit_trains_on_when_its_state_cannot_be_kept(kind, data, tmp_path, monkeypatch, capsys):
    torch.manual_seed(0)
    reference = build_model(**SMALL)
    ref_history = _train(data)(reference)

    folder = _broken(kind, tmp_path / "state", monkeypatch)
    target = checkpoints.ResumeTarget(folder / "a.partial.pt", {"c": 1})
    torch.manual_seed(0)
    model = build_model(**SMALL)
    history = fit(model, data, TrainConfig(epochs=3, lr_decay=0.5), prior=GaussianPrior(2),
                  progress=False, resume=target)
    out = capsys.readouterr().out
    assert _numbers(history) == _numbers(ref_history) and _same_weights(model, reference)
    assert out.count("Could not keep this run's state") == 1, out  # said once, not every epoch
    assert "after epoch 1" in out and REASON[kind] in out and "Training goes on" in out
    assert target.saved_epochs == 0
    monkeypatch.undo()
    assert files_under(folder) == []


def test_load_or_train_returns_the_trained_model(kind, data, tmp_path, monkeypatch, capsys):
    reference, ref_history = checkpoints.load_or_train("a", CONFIG, _train(data), directory=tmp_path / "ok")
    capsys.readouterr()

    folder = _broken(kind, tmp_path / "ckpt", monkeypatch)
    model, history = checkpoints.load_or_train("a", CONFIG, _train(data), directory=folder)
    out = capsys.readouterr().out
    assert _numbers(history) == _numbers(ref_history) and _same_weights(model, reference)
    assert not model.training
    assert out.count("Could not keep this run's state") == 1, out
    assert out.count("Could not save a to ") == 1 and "returned but not cached" in out
    assert out.count(REASON[kind]) == 2, out  # once for the state, once for the checkpoint
    monkeypatch.undo()
    assert files_under(folder) == []


def test_a_state_folder_that_fills_up_midway_keeps_the_last_whole_state(data, tmp_path, monkeypatch,
                                                                        capsys):
    """The disk fills after epoch 1 was kept: training goes on, and the state of epoch 1 stays
    whole, so an interruption resumes from there."""
    folder = tmp_path / "state"
    target = checkpoints.ResumeTarget(folder / "a.partial.pt", {"c": 1})
    calls = {"n": 0}

    def epoch_end(epoch, history):
        if epoch == 0:  # epoch 1's state is on disk: now the disk is full
            failing_folder("no-space", folder, monkeypatch)

    model = build_model(**SMALL)
    fit(model, data, TrainConfig(epochs=3), prior=GaussianPrior(2), progress=False, resume=target,
        epoch_end=lambda e, h: calls.update(n=calls["n"] + 1) or epoch_end(e, h))
    out = capsys.readouterr().out
    assert "after epoch 2" in out and "an interruption resumes from epoch 1" in out
    monkeypatch.undo()
    assert files_under(folder) == ["a.partial.pt"]
    assert target.load()["epochs_done"] == 1  # whole, and loadable


def test_save_checkpoint_leaves_the_old_pair_as_it_was(kind, data, tmp_path, monkeypatch):
    folder = tmp_path / "ckpt"
    old_model, _ = checkpoints.load_or_train("a", CONFIG, _train(data), directory=folder)
    before = {name: (folder / name).read_bytes() for name in files_under(folder)}
    if kind == "file-in-the-way":  # the folder is gone and a file stands in its place
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()
        before = {}
    failing_folder(kind, folder, monkeypatch)
    with pytest.raises(writes.WriteError, match=REASON[kind]):
        checkpoints.save_checkpoint(folder / "a.pt", build_model(**SMALL), CONFIG, {"recon": [0.0]})
    monkeypatch.undo()
    if before:
        assert {name: (folder / name).read_bytes() for name in files_under(folder)} == before
        again, _ = checkpoints.load_or_train("a", CONFIG, _train(data), directory=folder)
        assert _same_weights(again, old_model)  # still a whole, matching checkpoint


def test_resume_target_save_raises_and_leaves_nothing(kind, tmp_path, monkeypatch):
    folder = _broken(kind, tmp_path / "state", monkeypatch)
    target = checkpoints.ResumeTarget(folder / "a.partial.pt", {"c": 1})
    with pytest.raises(writes.WriteError, match=REASON[kind]):
        target.save({"epochs_done": 1, "model": {"w": torch.zeros(1000)}})
    monkeypatch.undo()
    assert files_under(folder) == [] and target.saved_epochs == 0


def test_an_interruption_says_which_epoch_was_really_kept(data, tmp_path, monkeypatch, capsys):
    folder = _broken("read-only", tmp_path / "state", monkeypatch)
    target = checkpoints.ResumeTarget(folder / "a.partial.pt", {"c": 1})

    def interrupt(epoch, history):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(build_model(**SMALL), data, TrainConfig(epochs=3), prior=GaussianPrior(2), progress=False,
            resume=target, epoch_end=interrupt)
    out = capsys.readouterr().out
    assert "Interrupted in epoch 2: no saved epoch to resume from yet." in out, out


# --- data ---------------------------------------------------------------------------------------


def test_compressed_data_is_used_where_it_cannot_be_unpacked(kind, tmp_path, mnist_root, monkeypatch,
                                                             capsys):
    from aae_utils import data as data_module
    from aae_utils.data import load_mnist

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in (mnist_root / "MNIST" / "raw").glob("t10k-*.gz"):
        (raw / f.name).write_bytes(f.read_bytes())
    monkeypatch.setattr(data_module, "_UNKEPT", set())
    if kind == "file-in-the-way":  # a folder where the decompressed file would go
        (raw / "t10k-images-idx3-ubyte").mkdir()
        reason = "is a folder, not a file"
    else:
        failing_folder(kind, raw, monkeypatch)
        reason = REASON[kind]
    before = files_under(raw)
    test = load_mnist(train=False, root=tmp_path, download=False)
    again = load_mnist(train=False, root=tmp_path, download=False, limit=10)
    out = capsys.readouterr().out
    monkeypatch.undo()
    reference = load_mnist(train=False, root=mnist_root, download=False)
    assert torch.equal(test.x, reference.x) and torch.equal(test.y, reference.y)
    assert torch.equal(again.x, reference.x[:10])
    assert out.count("Note: could not write") == 1 and reason in out, out  # once, for two loads
    # nothing half-written; where only the images' place is taken, the labels are kept as usual
    kept = {"t10k-labels-idx1-ubyte"} if kind == "file-in-the-way" else set()
    assert set(files_under(raw)) == set(before) | kept


# --- run records --------------------------------------------------------------------------------


def test_save_record_prints_the_record_it_could_not_write(kind, tmp_path, monkeypatch, capsys):
    folder = _broken(kind, tmp_path / "results", monkeypatch)
    record = {"experiment": "semi", "history": {"test_error": [0.5, 0.25]}}
    assert writes.save_record(folder / "run.json", record) is False
    captured = capsys.readouterr()
    assert REASON[kind] in captured.err and "run.json" in captured.err
    printed = captured.out.split("save it as run.json:\n", 1)[1]
    assert json.loads(printed) == record
    monkeypatch.undo()
    assert files_under(folder) == []


def _fast(tmp_path, mnist_root, out, state):
    return ["semi", "--labels", "100", "--fast", "--out", str(out), "--data", str(mnist_root),
            "--state-dir", str(state), "--threads", "1"]


def test_reproduce_records_its_epochs_when_the_state_folder_fails(kind, reproduce, mnist_root, tmp_path,
                                                                  monkeypatch, capsys):
    state = _broken(kind, tmp_path / "state", monkeypatch)
    assert reproduce.main(_fast(tmp_path, mnist_root, tmp_path / "out", state)) == 0
    out = capsys.readouterr().out
    (path,) = (tmp_path / "out").glob("reproduce-*.json")
    run = json.loads(path.read_text())
    assert run["partial"] is False and run["epochs_done"] == 2 and run["evaluated_epochs"] == [1, 2]
    assert out.count("Could not keep this run's state") == 1 and REASON[kind] in out
    monkeypatch.undo()
    assert files_under(state) == []


def test_reproduce_prints_the_record_it_cannot_write(kind, reproduce, mnist_root, tmp_path, monkeypatch,
                                                     capsys):
    broken = _broken(kind, tmp_path / "broken", monkeypatch)
    assert reproduce.main(_fast(tmp_path, mnist_root, broken, broken)) == 1  # the run's file is missing
    captured = capsys.readouterr()
    assert captured.err.count("could not write") == 1 and REASON[kind] in captured.err, captured.err
    printed = captured.out.split("(save it under that name):\n", 1)[1]
    run = json.loads(printed)
    assert run["partial"] is False and run["epochs_done"] == 2 and len(run["history"]["test_error"]) == 2
    assert 0 <= run["final_test_error"] <= 1
    monkeypatch.undo()
    assert files_under(broken) == []


# --- tools whose work is the write: a clear error, no half file ---------------------------------


def test_sync_recorded_names_the_folder_it_cannot_fill(kind, tmp_path, monkeypatch):
    from aae_utils.reproduction import sync_recorded

    results = tmp_path / "results"
    results.mkdir()
    (results / "reproduce-x-seed0-cpu.json").write_text(json.dumps({"history": list(range(200))}))
    target = _broken(kind, tmp_path / "recorded", monkeypatch)
    with pytest.raises(writes.WriteError, match=REASON[kind]):
        sync_recorded(results, target)
    monkeypatch.undo()
    assert files_under(target) == []


def test_student_edition_names_the_folder_it_cannot_fill(kind, tmp_path, monkeypatch):
    import sys

    from aae_utils.config import REPO_ROOT

    sys.path.insert(0, str(REPO_ROOT / "tools"))
    import editions

    notebooks = tmp_path / "instructor"
    notebooks.mkdir()
    source = REPO_ROOT / "notebooks" / "00_setup.ipynb"
    (notebooks / source.name).write_bytes(source.read_bytes())
    out = _broken(kind, tmp_path / "student", monkeypatch)
    with pytest.raises(writes.WriteError, match=REASON[kind]):
        editions.write_student_edition(out, notebooks)
    monkeypatch.undo()
    assert files_under(out) == []


# --- the kind, not the case: every write goes through aae_utils.writes ------------------------

#: Calls that write a file (or make a folder) on their own, bypassing aae_utils.writes: by name,
#: and by name on a module that writes files.
_RAW_WRITES = {"write_text", "write_bytes", "mkdir", "makedirs", "savefig", "tofile", "mkdtemp",
               "mkstemp", "copyfile", "copy2", "copytree"}
_RAW_MODULE_WRITES = {"torch": {"save"}, "np": {"save", "savez", "savetxt"}, "json": {"dump"},
                      "pickle": {"dump"}, "shutil": {"copy", "move"}, "nbformat": {"write"}}


def _raw_writes(source: str, where: str) -> list[str]:
    import ast

    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        owner = ast.unparse(func.value) if isinstance(func, ast.Attribute) else ""
        if name == "open":
            mode = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "mode"), None)
            text = mode.value if isinstance(mode, ast.Constant) else "r"
            if any(c in str(text) for c in "wax+"):
                found.append(f"{where}:{node.lineno} open(..., {text!r})")
        elif name in _RAW_WRITES or name in _RAW_MODULE_WRITES.get(owner, ()):
            if owner == "torch" and len(node.args) > 1 and ast.unparse(node.args[1]) == "buffer":
                continue  # writes.torch_bytes: into memory
            found.append(f"{where}:{node.lineno} {ast.unparse(func)}(...)")
    return found


def test_nothing_writes_a_file_except_through_aae_utils_writes():
    import nbformat

    from aae_utils.config import REPO_ROOT

    found = []
    for folder in ("aae_utils", "bench", "tools"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            if path.name == "writes.py":
                continue
            found += _raw_writes(path.read_text(), path.relative_to(REPO_ROOT).as_posix())
    for path in sorted((REPO_ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                code = "\n".join(  # an IPython magic becomes `pass`, at its indentation
                    line[:len(line) - len(line.lstrip())] + "pass"
                    if line.lstrip().startswith(("%", "!")) else line
                    for line in cell.source.splitlines())
                found += _raw_writes(code, f"{path.name} cell {i}")
    assert not found, ("write through aae_utils.writes (atomic_write, save_record), which never "
                       f"leaves half a file and says why a write failed: {found}")


def test_the_raw_write_finder_finds_raw_writes():
    code = ("from pathlib import Path\nPath('a').write_text('x')\nopen('b', 'w')\n"
            "torch.save(m, 'c.pt')\nopen('d')\nplt.savefig('e.png')\nPath('f').mkdir()\n")
    found = _raw_writes(code, "x.py")
    assert [f.split(":")[1].split()[0] for f in found] == ["2", "3", "4", "6", "7"], found


# --- the same on real file systems: a full tmpfs and a read-only mount (Linux, as root) ----------


@pytest.fixture(params=["no-space", "read-only"])
def real_folder(request, tmp_path):
    """A folder on a real 64 kB tmpfs (``no-space``: nothing the course writes fits) or on a
    read-only tmpfs. Needs ``mount`` (root on Linux, as in CI); skipped, saying so, elsewhere."""
    import shutil
    import subprocess

    folder = tmp_path / f"mounted-{request.param}"
    folder.mkdir()
    options = "size=64k" if request.param == "no-space" else "ro,size=64k"
    if shutil.which("mount") is None:
        pytest.skip("no mount command: the simulated failures above cover this case")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}): the simulated failures "
                    "above cover this case")
    if request.param == "no-space":  # full to the last byte: not even a small JSON fits
        with open(folder / ".filler", "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass
    yield request.param, folder
    subprocess.run(["umount", str(folder)], check=False)


def test_load_or_train_on_a_real_full_or_read_only_folder(real_folder, data, tmp_path, capsys):
    kind, folder = real_folder
    reference, ref_history = checkpoints.load_or_train("a", CONFIG, _train(data), directory=tmp_path / "ok")
    capsys.readouterr()
    model, history = checkpoints.load_or_train("a", CONFIG, _train(data), directory=folder)
    out = capsys.readouterr().out
    assert _numbers(history) == _numbers(ref_history) and _same_weights(model, reference)
    assert out.count("Could not keep this run's state") == 1 and out.count(REASON[kind]) == 2, out
    assert files_under(folder) in ([], [".filler"])


def test_reproduce_on_a_real_full_or_read_only_folder(real_folder, reproduce, mnist_root, tmp_path, capsys):
    kind, folder = real_folder
    assert reproduce.main(_fast(tmp_path, mnist_root, tmp_path / "out", folder)) == 0  # the state
    (path,) = (tmp_path / "out").glob("reproduce-*.json")
    assert json.loads(path.read_text())["epochs_done"] == 2
    assert REASON[kind] in capsys.readouterr().out
    assert reproduce.main(_fast(tmp_path, mnist_root, folder, folder)) == 1  # and the record
    captured = capsys.readouterr()
    run = json.loads(captured.out.split("(save it under that name):\n", 1)[1])
    assert run["epochs_done"] == 2 and run["history"]["test_error"] == json.loads(path.read_text())[
        "history"]["test_error"]  # the same numbers, printed instead of lost
    assert files_under(folder) in ([], [".filler"])


# --- found by a fresh review (each was a false message, a leftover file or a lost setting) --------


def test_ctrl_c_in_the_middle_of_a_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(writes.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        writes.atomic_write(tmp_path / "state.pt", b"x" * 100_000)
    monkeypatch.undo()
    assert files_under(tmp_path) == []


def test_a_pair_that_does_not_fit_says_what_the_pair_needs(tmp_path, monkeypatch):
    folder = _broken("no-space", tmp_path / "ckpt", monkeypatch)  # each file: room for 64 bytes
    with pytest.raises(writes.WriteError, match=r"it needs 110 bytes"):
        writes.atomic_write_all({folder / "a.pt": b"w" * 10, folder / "a.json": b"m" * 100})
    monkeypatch.undo()
    assert files_under(folder) == []


def test_a_failed_rename_leaves_no_mixed_pair(tmp_path):
    (tmp_path / "m.json").mkdir()  # the manifest's name is taken by a folder
    (tmp_path / "m.pt").write_bytes(b"OLD")
    with pytest.raises(writes.WriteError, match="is a folder, not a file"):
        writes.atomic_write_all({tmp_path / "m.pt": b"NEW", tmp_path / "m.json": "{}"})
    assert files_under(tmp_path) == []  # no new weights without their manifest, no temporary file


def test_sizes_are_shown_as_they_are():
    assert [writes._megabytes(n) for n in (0, 1, 499, 500, 250_000, 3_000_000, 5e9)] == [
        "0 kB", "1 bytes", "499 bytes", "0 kB", "250 kB", "3.0 MB", "5.0 GB"]


def test_a_long_name_a_link_and_a_files_mode_are_kept(tmp_path):
    import os
    import stat

    long = tmp_path / ("r" * 250 + ".json")  # the system's limit is 255 bytes
    writes.atomic_write(long, "{}")
    assert long.read_text() == "{}"
    real = tmp_path / "real.json"
    real.write_text("old")
    os.chmod(real, 0o600)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    writes.atomic_write(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_record_rewritten_as_a_run_goes_says_nothing_until_the_last_write(tmp_path, monkeypatch, capsys):
    folder = _broken("read-only", tmp_path / "results", monkeypatch)
    assert writes.save_record(folder / "run.json", {"a": 1}, final=False) is False
    assert capsys.readouterr().err == ""
    assert writes.save_record(folder / "run.json", {"a": 1}) is False
    assert capsys.readouterr().err.count("could not write") == 1


def test_a_state_of_another_run_is_not_promised(data, tmp_path, monkeypatch, capsys):
    """A state file left by another config is ignored; when nothing can be written, the
    messages must not say that file continues this run."""
    folder = tmp_path / "ckpt"
    other = {**CONFIG, "train": {"epochs": 5}}
    checkpoints.load_or_train("a", other, lambda m: fit(
        m, data, TrainConfig(epochs=5), prior=GaussianPrior(2), progress=False,
        epoch_end=lambda e, h: True), directory=folder)  # stops after epoch 1: a.partial.pt stays
    assert (folder / "a.partial.pt").exists()
    capsys.readouterr()
    failing_folder("read-only", folder, monkeypatch)
    model, history = checkpoints.load_or_train("a", CONFIG, _train(data), directory=folder)
    out = capsys.readouterr().out
    assert "belongs to another config" in out and len(history["recon"]) == 3
    assert "keeps its state" not in out and "returned but not cached." in out, out


def test_reproduce_restart_on_a_read_only_state_folder_starts_again(reproduce, mnist_root, tmp_path,
                                                                    monkeypatch, capsys):
    args = _fast(tmp_path, mnist_root, tmp_path / "out", tmp_path / "state")
    assert reproduce.main([*args, "--budget-minutes", "0.0001"]) == 0  # keeps epoch 1's state
    assert "Run the same command again to continue." in capsys.readouterr().out
    failing_folder("read-only", tmp_path / "state", monkeypatch)
    assert reproduce.main([*args, "--restart"]) == 0
    captured = capsys.readouterr()
    assert "Resuming" not in captured.out and "it is ignored: starting again" in captured.err
    run = json.loads(next((tmp_path / "out").glob("reproduce-*.json")).read_text())
    assert run["partial"] is False and run["epochs_done"] == 2


def _interrupt_after_epoch_1(reproduce, monkeypatch):
    real_fit = reproduce.fit

    def fit_interrupted(*args, epoch_end, **kwargs):
        def end(epoch, history):
            stop = epoch_end(epoch, history)
            if epoch == 0:
                raise KeyboardInterrupt
            return stop
        return real_fit(*args, epoch_end=end, **kwargs)

    monkeypatch.setattr(reproduce, "fit", fit_interrupted)


def test_reproduce_interrupted_says_what_is_really_kept(reproduce, mnist_root, tmp_path, monkeypatch,
                                                        capsys):
    _interrupt_after_epoch_1(reproduce, monkeypatch)
    args = _fast(tmp_path, mnist_root, tmp_path / "out", tmp_path / "state")
    assert reproduce.main(args) == 130
    err = capsys.readouterr().err
    assert "holds the epochs evaluated so far (partial); the same command continues after epoch 1" in err
    broken = _broken("read-only", tmp_path / "broken", monkeypatch)
    _interrupt_after_epoch_1(reproduce, monkeypatch)
    assert reproduce.main(_fast(tmp_path, mnist_root, broken, broken)) == 1
    captured = capsys.readouterr()
    assert ("interrupted: its record so far is printed below; no state was kept, so the same command "
            "starts again") in captured.err, captured.err
    run = json.loads(captured.out.split("(save it under that name):\n", 1)[1])
    assert run["partial"] is True and run["epochs_done"] == 1


def test_reproduce_budget_stop_names_the_epoch_it_continues_from(reproduce, mnist_root, tmp_path,
                                                                 monkeypatch, capsys):
    """The disk fills after epoch 1's state: a budget stop after epoch 2 must say the run
    continues from epoch 1, and the next call must do so."""
    real_save = checkpoints.ResumeTarget.save

    def save_once(self, state):
        if state["epochs_done"] > 1:
            raise writes.WriteError(self.path, OSError(28, "No space left on device"), needed=10**8)
        real_save(self, state)

    monkeypatch.setattr(checkpoints.ResumeTarget, "save", save_once)
    args = [*_fast(tmp_path, mnist_root, tmp_path / "out", tmp_path / "state"), "--epochs", "3"]
    # the harness's own clock: every reading a minute after the last (3 readings an epoch)
    monkeypatch.setattr(reproduce, "time", types.SimpleNamespace(
        perf_counter=_slow_clock(), strftime=time.strftime))
    assert reproduce.main([*args, "--budget-minutes", "7.5"]) == 0
    out = capsys.readouterr().out
    assert "stopping after epoch 2 of 3" in out
    assert ("Its state could be kept only up to epoch 1 (said above): the same command continues "
            "from there.") in out
    monkeypatch.undo()
    assert reproduce.main(args) == 0
    assert "Resuming after epoch 1" in capsys.readouterr().out


def _slow_clock():
    """A clock on which every reading is one minute after the last: each epoch 'takes' minutes."""
    now = [0.0]

    def tick():
        now[0] += 60.0
        return now[0]
    return tick


# --- settings found by the review -----------------------------------------------------------------


def test_numpy_and_other_numbers_are_taken_as_plain_python():
    import fractions

    import numpy as np

    c = TrainConfig(lr=np.longdouble(1e-3), beta=fractions.Fraction(1, 2),
                    lr_milestones=np.array([5, 10]), epochs=np.int32(12))
    assert (type(c.lr), type(c.beta), c.lr_milestones, type(c.epochs)) == (float, float, (5, 10), int)
    json.dumps(c.to_dict())
    m = build_model("aae", latent_dim=np.int64(2), hidden=(32, np.int64(16)))
    assert m.latent_dim == 2 and type(m.latent_dim) is int


@pytest.mark.parametrize("settings, message", [
    ({"lr": 10**400}, r"^lr must be a positive number .*got 1000"),
    ({"seed": 2**64}, r"^seed must be an int in \[0, 2\*\*63\)"),
])
def test_numbers_no_float_can_hold_are_refused_by_name(settings, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**settings)


def test_layer_widths_no_tensor_can_have_are_refused_by_name():
    with pytest.raises(ValueError, match=r"^hidden must be a non-empty list of positive whole numbers"):
        build_model("aae", hidden=[10**20])


@pytest.mark.parametrize("argv, message", [
    (["semi", "--set", "model.posterior=bad"], r"^--set model.posterior=bad: 'posterior' is not a setting"),
    (["parzen", "--set", "model.posterior=bad"], r"^--set model.posterior=bad: posterior must be"),
    (["parzen", "--set", "model.latent_dim=3"], r"^--set model.latent_dim=3: latent_dim must be 8, the"),
    (["semi", "--set", "model.in_dim=100"], r"^--set model.in_dim=100: in_dim must be 784"),
    (["semi", "--set", "train.batch_size=5000"], r"^--set train.batch_size=5000: batch_size=5000 is larger"),
    (["semi", "--paper", "--set", "train.lr_decay=0.5"], r"^--set train.lr_decay=0.5: lr_milestones and"),
    (["semi", "--set", "model.kind=foo"], r"^--set model.kind=foo: unknown model kind 'foo'"),
    (["semi", "--set", "model.hidden=[100, 100"],
     r"^--set model.hidden=\[100, 100: '\[100, 100' is not a valid"),
])
def test_the_harness_refuses_settings_before_loading_any_data(reproduce, tmp_path, argv, message):
    # --data names an empty folder: the refusal must come before any data is read
    with pytest.raises(SystemExit, match=message):
        reproduce.main([*argv, "--fast", "--data", str(tmp_path / "nothing-here")])
