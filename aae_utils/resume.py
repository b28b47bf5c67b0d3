"""Where an interrupted training run's state is kept, and how :func:`~aae_utils.engine.fit`
saves and restores it after every epoch.

Kept apart from the engine's loop: :func:`aae_utils.checkpoints.load_or_train` chooses the place
(a file beside the checkpoint) through :func:`resuming`, and the engine only calls
:func:`save_state` / :func:`restore_state`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Protocol

import torch

from .writes import is_write_failure


class ResumeStore(Protocol):
    """Where :func:`~aae_utils.engine.fit` keeps the state of an unfinished run after every epoch.

    :class:`aae_utils.checkpoints.ResumeTarget` is the one the course uses (a file beside the
    checkpoint); anything with these three members works.
    """

    #: How the place is shown to the learner (a path relative to the repository).
    location: str

    def save(self, state: dict) -> None:
        """Keep ``state`` (tensors and plain data) so that :meth:`load` returns it."""

    def load(self) -> dict | None:
        """The state saved for this run, or None (nothing saved, or not usable: say why)."""


_RESUME: contextvars.ContextVar[ResumeStore | None] = contextvars.ContextVar(
    "aae_resume", default=None
)


@contextlib.contextmanager
def resuming(store: ResumeStore) -> Iterator[None]:
    """Inside the block, the next :func:`~aae_utils.engine.fit` call (and only that one) resumes
    from and saves to ``store``; :func:`~aae_utils.checkpoints.load_or_train` wraps the training
    function in it."""
    token = _RESUME.set(store)
    try:
        yield
    finally:
        _RESUME.reset(token)


def take_resume_target() -> ResumeStore | None:
    """The store set by :func:`resuming` for this training run (used by one ``fit`` only)."""
    target = _RESUME.get()
    _RESUME.set(None)
    return target


def save_state(target: ResumeStore, model, optimizers, schedulers, gen, history, epochs_done,
               ema=None):
    """Keep everything a run needs to continue bit for bit after ``epochs_done`` epochs: weights,
    optimiser and schedule states, random generators, the history so far and, where the run
    averages its weights (``TrainConfig.ema_decay``), that average."""
    target.save({
        **({"ema": ema.state_dict()} if ema is not None else {}),
        "epochs_done": epochs_done,
        "model": model.state_dict(),
        "optimizers": [o.state_dict() for o in optimizers],
        "schedulers": [s.state_dict() for s in schedulers],
        "generator": gen.get_state(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "history": history,
    })


class StateKeeper:
    """Saves a run's state after every epoch into a :class:`ResumeStore`; a save that fails
    (full disk, read-only folder, ...) is said once and training goes on without it.

    Nothing trained is lost to a write: the run continues in memory, and the store keeps the
    last state it did save (written whole or not at all), so an interruption resumes from there.
    """

    def __init__(self, store: ResumeStore, epochs_done: int = 0):
        self.store = store
        #: The last epoch whose state the store holds (0: none).
        self.saved_epochs = epochs_done
        self._failing = False

    def save(self, model, optimizers, schedulers, gen, history, epochs_done, ema=None) -> bool:
        """Save the state after ``epochs_done`` epochs; False (said once) if it could not be."""
        try:
            save_state(self.store, model, optimizers, schedulers, gen, history, epochs_done, ema)
        except Exception as err:
            if not is_write_failure(err):
                raise
            if not self._failing:
                since = (f"an interruption resumes from epoch {self.saved_epochs}, the last one kept"
                         if self.saved_epochs else "an interruption would start it again")
                why = getattr(err, "reason", None) or f"{type(err).__name__}: {err}"
                print(f"Could not keep this run's state in {self.store.location} after epoch "
                      f"{epochs_done} ({why}). Training goes on; {since}.", flush=True)
            self._failing = True
            return False
        if self._failing:
            print(f"The run's state is kept again in {self.store.location} (after epoch "
                  f"{epochs_done}).", flush=True)
            self._failing = False
        self.saved_epochs = epochs_done
        return True


def restore_state(target: ResumeStore, model, optimizers, schedulers, gen, history,
                  ema=None) -> int:
    """Load a saved unfinished run into the live objects; return how many epochs it had done."""
    state = target.load()
    if state is None:
        return 0
    try:
        model.load_state_dict(state["model"])
        if ema is not None:
            ema.load_state_dict(state["ema"])
        for o, s in zip(optimizers, state["optimizers"], strict=True):
            o.load_state_dict(s)
        for sch, s in zip(schedulers, state["schedulers"], strict=True):
            sch.load_state_dict(s)
        gen.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
    except Exception as err:  # another architecture, another optimiser, ...
        print(f"Ignoring {target.location}: it could not be loaded ({type(err).__name__}).")
        if hasattr(target, "saved_epochs"):
            target.saved_epochs = 0  # it holds nothing this run can continue from
        return 0
    history.clear()
    history.update(state["history"])
    print(f"Resuming after epoch {state['epochs_done']} from {target.location}.")
    return int(state["epochs_done"])
