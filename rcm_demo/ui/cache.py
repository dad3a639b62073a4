"""Cached access to the zoo, the bundled sample and every computation a page shows. Results are keyed by
cheap values (checkpoint names and file stamps, image ids, settings, seed, device); the tensors passed
as ``_x``/``_y`` are determined by the image key and not hashed."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st
import torch

from .. import zoo
from ..analysis import lab, sweeps, tasks
from ..data import CLASSES, decode_image, fixed_subset, load_sample
from ..serve import worker as W
from ..serve.backend import get_backend
from ..zoo import CheckpointError, default_checkpoints, get_checkpoint, load_model, scan_checkpoints
from .frame import device, user_errors
from .jobs import _quick, use_worker

# ----------------------------------------------------------------------------- the zoo, cached
STAMP_TTL_S = 1.0  # file stamps are read again after this long (a page asks for them dozens of times)
_STAMPS: dict[tuple, tuple[float, tuple]] = {}


def forget_stamps():
    """Read every file stamp again at the next request (after writing checkpoints from this process)."""
    _STAMPS.clear()


def _memo_stamp(key: tuple, read) -> tuple:
    now = time.monotonic()
    hit = _STAMPS.get(key)
    if hit is not None and now - hit[0] < STAMP_TTL_S:
        return hit[1]
    value = read()
    _STAMPS[key] = (now, value)
    return value


def _stamp(name: str) -> tuple:
    """Size and mtime of the card and the weights: a checkpoint rewritten on disk is loaded (and verified)
    anew, at most ``STAMP_TTL_S`` later."""

    return _memo_stamp((str(zoo.checkpoints.PRETRAINED_DIR), name), lambda: zoo.checkpoint_stamp(name))


def _dir_stamp() -> tuple:
    def read():
        try:
            d = zoo.checkpoints.PRETRAINED_DIR
            return (str(d), *sorted((p.name, p.stat().st_mtime_ns) for p in d.glob("*.json")))
        except OSError:
            return ()

    return _memo_stamp((str(zoo.checkpoints.PRETRAINED_DIR), None), read)


@st.cache_data(show_spinner=False, max_entries=8)
def _scan(directory: str, stamp: tuple):
    return scan_checkpoints(Path(directory))


def checkpoints() -> list[str]:
    return _scan(str(zoo.checkpoints.PRETRAINED_DIR), _dir_stamp())[0]


def checkpoint_problems() -> dict[str, str]:
    return _scan(str(zoo.checkpoints.PRETRAINED_DIR), _dir_stamp())[1]


def card(name: str) -> dict:
    return _card(name, _stamp(name))


@st.cache_data(show_spinner=False)
def _card(name: str, stamp: tuple) -> dict:
    return get_checkpoint(name).meta


def label(name: str) -> str:
    """Short human name of a checkpoint, from the cards (with its budget while the zoo mixes budgets)."""
    known = _labels(_dir_stamp())
    return known[name] if name in known else zoo.display_label(name)  # unknown: its CheckpointError


@st.cache_resource(show_spinner=False, max_entries=4)
def _labels(stamp: tuple) -> dict[str, str]:
    # Every label at once: one read of the cards per change of the directory, not one per name.
    return zoo.display_labels(checkpoints())


def labels(names) -> dict[str, str]:
    return {n: label(n) for n in names}


def tap_notes_markdown(names) -> str:
    """What stem, layer1..layer4 are in each selected checkpoint's architecture (from the registry)."""
    notes = sweeps.tap_notes(get_checkpoint(n).spec.arch for n in names)
    return "\n\n".join(
        f"**{arch}**: " + "; ".join(f"`{tap}` {text}" for tap, text in taps.items()) for arch, taps in notes.items()
    )


@st.cache_resource(show_spinner="Loading model…", max_entries=32)
def _load(name: str, dev: str, stamp: tuple):
    return load_model(name, device=dev)


def cached_model(name: str, dev: str):
    """A shared, read-only model (never mutated: attacks and probes leave models as they are)."""
    return _load(name, dev, _stamp(name))


def models(names, dev=None, side_by_side: bool = True) -> dict:
    """Load the chosen checkpoints; a broken one is reported and skipped, the others keep working.
    ``side_by_side``: a comparison view, limited to ``limits.MODELS`` checkpoints."""
    out = {}
    if not names:
        st.stop()
    if side_by_side:
        with user_errors():
            lab.check_models(names)
    for n in names:
        try:
            out[n] = cached_model(n, dev or device())
        except CheckpointError as e:
            st.error(f"{e}")
    if not out:
        st.info("No usable model selected.")
        st.stop()
    return out


def default_models(k: int = 3) -> list[str]:
    """The controlled comparison, chosen from the cards (tier for this device, AT, average pooling)."""
    return _defaults(k, device(), _dir_stamp())


@st.cache_data(show_spinner=False, max_entries=8)
def _defaults(k, dev, stamp):
    return default_checkpoints(k, dev, zoo.checkpoints.PRETRAINED_DIR)


def stamps(names) -> tuple:
    """Part of every cache key: results of a checkpoint rewritten on disk are not served again."""
    return tuple(_stamp(n) for n in names)


# ----------------------------------------------------------------------------- URL state


# The bundled sample is shared, read-only (cache_resource): st.cache_data unpickled its 1.5 MB of tensors on
# every call, several times per script run (py-spy under load: ~35 ms per Attack lab or Energy view).
@st.cache_resource(show_spinner=False)
def sample():
    s = load_sample()
    return s.x, s.y


@st.cache_resource(show_spinner=False)
def sample_classes() -> tuple[str, ...]:
    """The class name of every bundled image (plain Python: widgets format 500 options with it)."""
    return tuple(CLASSES[int(c)] for c in sample()[1])


@st.cache_resource(show_spinner=False)
def sample_names() -> tuple[str, ...]:
    return tuple(f"#{i} {c}" for i, c in enumerate(sample_classes()))


@st.cache_resource(show_spinner=False, max_entries=600)
def thumbnail(i: int) -> bytes:
    """Bundled image ``i`` as PNG bytes, encoded once (st.image re-encoded every array on every run)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(sample()[0][i].permute(1, 2, 0).numpy()).save(buf, format="PNG")
    return buf.getvalue()


@st.cache_data(show_spinner=False, max_entries=64)
def decoded_upload(digest: str, data: bytes):
    return decode_image(data)


CLEAN_BLOCK = 16  # bundled images per cached block of clean predictions (a gallery window needs one or two)


@st.cache_data(show_spinner=False, max_entries=4096)
def _clean_block(names, stamps_, dev, b):
    xs, ys = sample()
    sl = slice(b * CLEAN_BLOCK, (b + 1) * CLEAN_BLOCK)
    return _quick(tasks.correct_all, [cached_model(n, dev) for n in names], xs[sl].float() / 255, ys[sl])


def _usable(names) -> list[str]:
    out = []
    for n in names:
        try:
            cached_model(n, device())
            out.append(n)
        except CheckpointError:
            pass  # a broken checkpoint is reported where the page loads its models
    return out


# Whole-sample clean predictions per (checkpoint, stamp, device), filled in the worker's heavy lane in the
# background (prefetch_clean_bits): once there, every gallery mark and default image is a lookup.
_BITS: dict[tuple, torch.Tensor] = {}
_BITS_PENDING: set[tuple] = set()


def _fill_bits(todo: dict, x, y, progress=None):
    for k, (key, model) in enumerate(todo.items()):
        _BITS[key] = lab.clean_correct(model, x, y, batch_size=100)
        if progress:
            progress((k + 1) / len(todo))


def prefetch_clean_bits(names):
    """Start computing the clean predictions of the whole bundled sample for these (usable) checkpoints in
    the worker's heavy lane, without waiting (about 2 s for the default trio on 2 CPU cores, once per
    server). Until it is done, ``clean_block`` computes the blocks a page needs on the spot."""
    if not use_worker():
        return
    keys = [k for k in _bits_keys(names) if k not in _BITS and k not in _BITS_PENDING]
    todo = {k: cached_model(k[0], k[2]) for k in keys}  # key: (name, stamp, device)
    if todo:
        xs, ys = sample()
        try:
            get_backend(device()).heavy(_fill_bits, todo, xs.float() / 255, ys, owner="prefetch")
            _BITS_PENDING.update(todo)
        except W.Busy:
            pass  # a busy lab computes the blocks it needs instead


def _bits_keys(names) -> list[tuple]:
    return [(n, _stamp(n), device()) for n in names]


def clean_bits_ready(names) -> bool:
    """True once the whole-sample clean predictions of every checkpoint in ``names`` are there."""
    return all(k in _BITS for k in _bits_keys(names))


def clean_block(names, b: int) -> torch.Tensor:
    """(len(names), ≤ CLEAN_BLOCK) bool: which of the bundled images b·16 … b·16+15 each checkpoint
    classifies correctly (clean): read from the whole-sample predictions when they are there
    (``prefetch_clean_bits``), else computed for this block (one forward pass of 16 images per model,
    cached)."""
    keys = _bits_keys(names)
    if all(k in _BITS for k in keys):
        return torch.stack([_BITS[k][b * CLEAN_BLOCK : (b + 1) * CLEAN_BLOCK] for k in keys])
    return _clean_block(tuple(names), stamps(names), device(), int(b))


def first_correct(names, after: int = -1) -> int:
    """The first bundled image after ``after`` that every model in ``names`` classifies correctly
    (image 0 when there is none or no model)."""
    usable = _usable(names)
    if not usable:
        return 0
    try:
        found = lab.first_correct(lambda b: clean_block(usable, b).all(0), len(sample()[1]), int(after), CLEAN_BLOCK)
    except W.Busy:
        return max(int(after) + 1, 0) % len(sample()[1])  # the lab is busy: the next image, unchecked
    return 0 if found is None else found


def sample_batch(n: int, seed: int = 0):
    """The first ``n`` images of a seeded shuffle of the bundled sample (balanced enough for curves)."""
    xs, ys = sample()
    with user_errors():
        idx = fixed_subset(len(ys), int(n), seed)
    return xs[idx].float() / 255, ys[idx]
