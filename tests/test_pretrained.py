"""The course's pretrained models (aae_utils.pretrained): packed by one command, served here by a
real HTTP server on 127.0.0.1, downloaded by load_or_train when every check passes, and trained
instead, saying why in one line, whenever anything goes wrong; nothing half-downloaded is left.

The release is a tiny autoencoder trained for one epoch on synthetic images (no MNIST needed),
so the whole file takes a few seconds.
"""

from __future__ import annotations

import hashlib
import http.client
import http.server
import json
import shutil
import socket
import threading
import time
from types import SimpleNamespace

import pytest
import torch
from disk_faults import files_under

from aae_utils import pretrained, writes
from aae_utils.checkpoints import load_or_train
from aae_utils.data import ImageData
from aae_utils.engine import fit
from aae_utils.links import REPOSITORY
from aae_utils.models import build_model
from aae_utils.train_config import TrainConfig

SMALL = {"kind": "ae", "latent_dim": 2, "hidden": [16, 16]}
CONFIG = {"model": SMALL, "train": {"epochs": 1}, "seed": 3}
OTHER = {**CONFIG, "seed": 4}


def _images(n=256, seed=0) -> ImageData:
    g = torch.Generator().manual_seed(seed)
    return ImageData(torch.rand(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g), "synthetic")


DATA = _images()


def _train(data=DATA):
    return lambda m: fit(m, data, TrainConfig(epochs=1, batch_size=64), progress=False)


def _same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(),
                                                  strict=True))


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """Two trained models and a run's unfinished state, packed by the pack command."""
    root = tmp_path_factory.mktemp("release")
    with pytest.MonkeyPatch.context() as mp:  # module scope: conftest's autouse fixture is not on yet
        mp.setenv("AAE_PRETRAINED_URL", "off")
        mp.setenv("AAE_FAST", "0")
        model, history = load_or_train("m", CONFIG, _train(), data=DATA, directory=root / "trained")
        load_or_train("other", OTHER, _train(), data=DATA, directory=root / "trained")
        (root / "trained" / "third.partial.pt").write_bytes(b"the state of an unfinished run")
        index = pretrained.pack(root / "trained", root / "pack")
    return SimpleNamespace(model=model, history=history, index=index, trained=root / "trained",
                           files={p.name: p.read_bytes() for p in (root / "pack").iterdir()})


class _Handler(http.server.BaseHTTPRequestHandler):
    state: SimpleNamespace  # set per server

    def do_GET(self):  # noqa: N802 (http.server's name)
        name = self.path.lstrip("/")
        self.state.requests.append(name)
        if name in self.state.stall:
            time.sleep(self.state.stall[name])
        body = self.state.files.get(name)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            if name in self.state.cut:  # promise all of it, send half, hang up
                self.wfile.write(body[:len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (a size it refused, a Ctrl-C): as a real server would

    def log_message(self, *args):
        pass


@pytest.fixture
def server(release, monkeypatch):
    """The release served on 127.0.0.1 (AAE_PRETRAINED_URL points at it); ``requests`` lists the
    files asked for, and ``files``, ``cut`` and ``stall`` change what it serves."""
    state = SimpleNamespace(files=dict(release.files), requests=[], cut=set(), stall={})
    handler = type("Handler", (_Handler,), {"state": state})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{httpd.server_port}/"
    monkeypatch.setenv("AAE_PRETRAINED_URL", state.base)
    monkeypatch.setenv("AAE_FAST", "0")
    pretrained.forget()
    yield state
    httpd.shutdown()
    httpd.server_close()
    pretrained.forget()


def _client(tmp_path, capsys, *, name="m", config=CONFIG, data=DATA, build=None, folder="ckpt"):
    """load_or_train as a notebook calls it, in an empty checkpoint folder."""
    calls = []

    def train(m):
        calls.append(name)
        return _train(data)(m)

    capsys.readouterr()
    start = time.perf_counter()
    model, history = load_or_train(name, config, train, data=data, build=build, directory=tmp_path / folder)
    return SimpleNamespace(model=model, history=history, trained=bool(calls), out=capsys.readouterr().out,
                           seconds=time.perf_counter() - start, files=files_under(tmp_path / folder))


def _said(run) -> str:
    """The one line about the release (asserting there is exactly one)."""
    lines = [line for line in run.out.splitlines() if "pretrained" in line.lower() or "Downloaded" in line]
    assert len(lines) == 1, run.out
    return lines[0]


def _trained_instead(run, release, reason: str) -> None:
    line = _said(run)
    assert line.startswith("No pretrained m: ") and line.endswith("; training instead."), line
    assert reason in line, line
    assert "Training m: no checkpoint yet." in run.out
    assert run.trained and _same_weights(run.model, release.model)  # exactly as without a release
    assert run.files == ["m.json", "m.pt"]  # its own checkpoint: nothing downloaded, no temporary file


# --- packing ---------------------------------------------------------------------------------------


def test_the_packed_index_matches_its_files(release):
    index = json.loads(release.files["index.json"])
    assert index == release.index and index["format"] == pretrained.FORMAT
    assert sorted(release.files) == ["index.json", "m.json", "m.pt", "other.json", "other.pt"]  # no partial
    assert [e["name"] for e in index["checkpoints"]] == ["m", "other"]
    for entry in index["checkpoints"]:
        for part, suffix in (("weights", ".pt"), ("manifest", ".json")):
            spec = entry[part]
            body = release.files[spec["file"]]
            assert spec["file"] == entry["name"] + suffix
            assert spec["size"] == len(body) and spec["sha256"] == hashlib.sha256(body).hexdigest()
            assert body == (release.trained / spec["file"]).read_bytes()
        assert entry["epochs"] == 1 and entry["torch"] == torch.__version__
    # the config's hash, computed here from the canonical JSON the manifest stores
    manifest = json.loads(release.files["m.json"])
    canonical = json.dumps(manifest["config"], sort_keys=True, separators=(",", ":")).encode()
    assert index["checkpoints"][0]["config_sha256"] == hashlib.sha256(canonical).hexdigest()
    assert index["checkpoints"][0]["config_sha256"] == pretrained.config_sha256(CONFIG)
    assert pretrained.config_sha256(OTHER) == index["checkpoints"][1]["config_sha256"] != \
        index["checkpoints"][0]["config_sha256"]


def test_the_pack_command_says_what_to_upload_and_drops_stale_files(release, tmp_path, capsys):
    source, out = tmp_path / "checkpoints", tmp_path / "out"
    shutil.copytree(release.trained, source)
    assert pretrained.main(["pack", "--from", str(source), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "Packed 2 checkpoints" in said and "gh release upload v" in said and "/* --repo " in said
    for name in ("other.pt", "other.json"):
        (source / name).unlink()
    assert pretrained.main(["pack", "--from", str(source), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["index.json", "m.json", "m.pt"]  # other.* gone
    assert "Packed 1 checkpoint (" in capsys.readouterr().out


def _corrupt(folder):
    data = bytearray((folder / "m.pt").read_bytes())
    data[-1] ^= 1
    (folder / "m.pt").write_bytes(bytes(data))


@pytest.mark.parametrize("case, message", [
    ("empty", "holds no finished checkpoint"),
    ("out inside from", "is inside --from"),
    ("out is from", "is inside --from"),
    ("not a folder", "is not a folder"),
    ("damaged weights", "m.pt does not match the sha256 in m.json"),
    ("strangers in out", "holds files no pack wrote (notes.txt)"),
    ("fast mode", "is a fast-mode checkpoint folder"),
])
def test_the_pack_command_refuses_bad_input(case, message, release, tmp_path, capsys):
    source, out = tmp_path / "checkpoints", tmp_path / "out"
    shutil.copytree(release.trained, source)
    if case == "empty":
        source = tmp_path / "nothing"
        source.mkdir()
        (source / "m.partial.pt").write_bytes(b"state")
    elif case == "out inside from":
        out = source / "release"
    elif case == "out is from":
        out = source
    elif case == "not a folder":
        source = tmp_path / "missing"
    elif case == "damaged weights":
        _corrupt(source)
    elif case == "strangers in out":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    elif case == "fast mode":
        source = source.rename(tmp_path / "fast")
    with pytest.raises(SystemExit) as info:
        pretrained.main(["pack", "--from", str(source), "--out", str(out)])
    assert info.value.code == 2
    assert message in capsys.readouterr().err
    if case.startswith("out i"):
        assert files_under(source) == files_under(release.trained)  # nothing written into it
    else:
        assert files_under(out) == (["notes.txt"] if case == "strangers in out" else [])


# --- downloading -----------------------------------------------------------------------------------


def test_a_good_release_is_downloaded_checked_and_used(server, release, tmp_path, capsys):
    run = _client(tmp_path, capsys)
    assert _said(run) == f"Downloaded m from {server.base} (sha256 ok)."
    assert "Loaded m from " in run.out and "Training" not in run.out
    assert not run.trained and _same_weights(run.model, release.model) and not run.model.training
    assert run.history == release.history
    assert run.files == ["m.json", "m.pt"]
    assert [(tmp_path / "ckpt" / f).read_bytes() for f in run.files] == [release.files[f] for f in run.files]
    assert server.requests == ["index.json", "m.json", "m.pt"]
    again = _client(tmp_path, capsys)  # now it is cached: no network
    assert "Loaded m from " in again.out and "Downloaded" not in again.out and not again.trained
    other = _client(tmp_path, capsys, name="other", config=OTHER)
    assert "Downloaded other from " in other.out and not other.trained
    assert server.requests.count("index.json") == 1  # the index is fetched once per process


def _served(server, name, change):
    server.files[name] = change(server.files[name])


def _index_with(server, edit):
    index = json.loads(server.files["index.json"])
    edit(index)
    server.files["index.json"] = json.dumps(index).encode()


def _flip_last_byte(body: bytes) -> bytes:
    return body[:-1] + bytes([body[-1] ^ 1])


# Each case: what the server does wrong, and what the one line must say (the sizes of m.pt filled in).
FAILURES = {
    "corrupted": (lambda s: _served(s, "m.pt", _flip_last_byte), "m.pt failed its sha256 check"),
    "wrong size": (lambda s: _served(s, "m.pt", lambda b: b + b"!"),
                   "the server's m.pt has {n1:,} bytes, the index says {n:,}"),
    "missing": (lambda s: s.files.pop("m.pt"), "m.pt answered HTTP 404 (Not Found)"),
    "cut midway": (lambda s: s.cut.add("m.pt"),
                   "the download of m.pt was cut off after {half:,} of {n:,} bytes"),
    "other config": (lambda s: _index_with(s, lambda i: i["checkpoints"][0].update(config_sha256="0" * 64)),
                     "the release's m was trained with other settings than this notebook's"),
    "not in the release": (lambda s: _index_with(s, lambda i: i["checkpoints"].pop(0)),
                           "has no model named m"),
    "no index": (lambda s: s.files.pop("index.json"), "there is no index.json at http://127.0.0.1:"),
    "index not JSON": (lambda s: s.files.update({"index.json": b"<html>rate limited</html>"}),
                       "index.json is malformed (not JSON: "),
    "index entry without a size": (
        lambda s: _index_with(s, lambda i: i["checkpoints"][0]["weights"].pop("size")),
        "is malformed (m's weights needs its file (m.pt), sha256 and size)"),
    "index of another format": (lambda s: _index_with(s, lambda i: i.update(format=2)),
                                "(format 2, but this aae_utils reads format 1: update aae_utils)"),
    "a name that is a path": (lambda s: _index_with(s, lambda i: i["checkpoints"][0].update(name="../m")),
                              "which is not a checkpoint's"),
}


@pytest.mark.parametrize("case", FAILURES)
def test_any_failure_says_why_in_one_line_and_trains(case, server, release, tmp_path, capsys):
    setup, message = FAILURES[case]
    setup(server)
    n = len(release.files["m.pt"])
    run = _client(tmp_path, capsys)
    _trained_instead(run, release, message.format(n=n, n1=n + 1, half=n // 2))
    if case in ("other config", "not in the release"):
        assert server.requests == ["index.json"]  # nothing downloaded that cannot be used


def test_a_silent_server_times_out(server, release, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(pretrained, "TIMEOUT", 0.3)
    server.stall["index.json"] = 3.0
    run = _client(tmp_path, capsys)
    _trained_instead(run, release, f"127.0.0.1:{server.base.split(':')[-1].rstrip('/')} did not "
                                   "answer within 0.3 s")
    assert run.seconds < 2.5  # gave up after the timeout, not after the server's answer


def test_an_unreachable_server_costs_no_time(release, tmp_path, capsys, monkeypatch):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AAE_PRETRAINED_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AAE_FAST", "0")
    pretrained.forget()
    run = _client(tmp_path, capsys)
    _trained_instead(run, release, f"127.0.0.1:{port} refused the connection")
    assert run.seconds < 5
    second = _client(tmp_path, capsys, name="other", config=OTHER, folder="ckpt2")
    assert _said(second) == _said(run).replace("pretrained m", "pretrained other")  # remembered
    pretrained.forget()


def test_a_release_trained_on_other_data_is_not_downloaded(server, release, tmp_path, capsys):
    other = ImageData(DATA.x.clone(), DATA.y.clone(), DATA.name)
    other.x[5, 300] = 0.5  # one pixel differs
    run = _client(tmp_path, capsys, data=other)
    line = _said(run)
    assert line.startswith("No pretrained m: the release's m was trained on other data (synthetic, 256 "
                           "images, sha256 "), line
    assert run.trained and run.files == ["m.json", "m.pt"]
    assert server.requests == ["index.json", "m.json"]  # the manifest said so: no weights fetched


def test_a_checkpoint_that_does_not_load_is_removed_and_training_starts_afresh(server, release, tmp_path,
                                                                               capsys, monkeypatch):
    """The files check out but do not fit the model built here: they are removed, and the model
    that trains is built anew (a refused load may have filled some layers already)."""
    def narrower():
        return build_model(**{**SMALL, "hidden": [8, 16]})  # the last layers fit, the first do not

    run = _client(tmp_path, capsys, build=narrower)
    line = _said(run)
    assert line == ("No pretrained m: the downloaded checkpoint was not used: it could not be loaded "
                    "(RuntimeError); training instead."), line
    assert run.trained and run.files == ["m.json", "m.pt"]
    monkeypatch.setenv("AAE_PRETRAINED_URL", "off")
    reference = _client(tmp_path, capsys, build=narrower, folder="reference")
    assert reference.trained and _same_weights(run.model, reference.model)


@pytest.mark.parametrize("when", ["while downloading", "while writing"])
def test_ctrl_c_leaves_no_file(when, server, tmp_path, capsys, monkeypatch):
    if when == "while downloading":
        read = http.client.HTTPResponse.read

        def interrupted(self, *args):
            if getattr(self, "url", "").endswith(".pt"):
                raise KeyboardInterrupt
            return read(self, *args)

        monkeypatch.setattr(http.client.HTTPResponse, "read", interrupted)
    else:
        fsync, calls = writes.os.fsync, []

        def interrupted(fd):  # the weights are staged, the manifest is being staged
            calls.append(fd)
            if len(calls) == 2:
                raise KeyboardInterrupt
            fsync(fd)

        monkeypatch.setattr(writes.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _client(tmp_path, capsys)
    monkeypatch.undo()
    assert files_under(tmp_path / "ckpt") == []


@pytest.mark.parametrize("variable, value", [("AAE_FAST", "1"), ("AAE_PRETRAINED_URL", "off"),
                                             ("AAE_PRETRAINED_URL", "0"), ("AAE_PRETRAINED_URL", "")])
def test_fast_mode_and_off_never_ask_and_say_nothing(variable, value, server, release, tmp_path, capsys,
                                                     monkeypatch):
    monkeypatch.setenv(variable, value)
    run = _client(tmp_path, capsys)
    assert server.requests == []
    assert "pretrained" not in run.out.lower() and "Downloaded" not in run.out
    assert run.trained and run.out.startswith("Training m: no checkpoint yet.")


def test_the_default_is_the_courses_release(monkeypatch):
    monkeypatch.setattr(pretrained, "REF", "main")
    assert pretrained.default_base_url() == f"https://github.com/{REPOSITORY}/releases/latest/download/"
    monkeypatch.setattr(pretrained, "REF", "v1.2.3")  # a release's own commit: its own models
    assert pretrained.default_base_url() == f"https://github.com/{REPOSITORY}/releases/download/v1.2.3/"
    monkeypatch.undo()
    monkeypatch.setenv("AAE_PRETRAINED_URL", "off")
    assert pretrained.base_url() is None
    monkeypatch.delenv("AAE_PRETRAINED_URL")
    assert pretrained.base_url() == pretrained.default_base_url()
    monkeypatch.setenv("AAE_PRETRAINED_URL", " https://example.org/course ")
    assert pretrained.base_url() == "https://example.org/course/"
    monkeypatch.setenv("AAE_PRETRAINED_URL", "OFF")
    assert pretrained.base_url() is None
