"""Cached access to the zoo, the bundled sample and every computation a page shows. Results are keyed by
cheap values (checkpoint names and file stamps, image ids, settings, seed, device); the tensors passed
as ``_x``/``_y`` are determined by the image key and not hashed."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st
import torch

from .. import control, lab, lesson, metrics, probe, viz, zoo, zoo_table
from .. import worker as W
from ..data import CLASSES, decode_image, fixed_subset, load_sample
from ..zoo import CheckpointError, default_checkpoints, get_checkpoint, load_model, scan_checkpoints
from .frame import device, user_errors
from .jobs import _heavy, _no_progress, _owner, _quick, _wait, use_worker

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

    return _memo_stamp((str(zoo.PRETRAINED_DIR), name), lambda: zoo.checkpoint_stamp(name))


def _dir_stamp() -> tuple:
    def read():
        try:
            d = zoo.PRETRAINED_DIR
            return (str(d), *sorted((p.name, p.stat().st_mtime_ns) for p in d.glob("*.json")))
        except OSError:
            return ()

    return _memo_stamp((str(zoo.PRETRAINED_DIR), None), read)


@st.cache_data(show_spinner=False, max_entries=8)
def _scan(directory: str, stamp: tuple):
    return scan_checkpoints(Path(directory))


def checkpoints() -> list[str]:
    return _scan(str(zoo.PRETRAINED_DIR), _dir_stamp())[0]


def checkpoint_problems() -> dict[str, str]:
    return _scan(str(zoo.PRETRAINED_DIR), _dir_stamp())[1]


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
    notes = lab.tap_notes(get_checkpoint(n).spec.arch for n in names)
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
    return default_checkpoints(k, dev, zoo.PRETRAINED_DIR)


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
    return _quick(_correct_all, [cached_model(n, dev) for n in names], xs[sl].float() / 255, ys[sl])


def _correct_all(models_, x, y):
    return torch.stack([lab.clean_correct(m, x, y) for m in models_])  # one worker job for all models


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
            W.get_worker(device()).heavy(_fill_bits, todo, xs.float() / 255, ys, owner="prefetch")
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


# ----------------------------------------------------------------------------- cached computations


def _by_name(names, dev):
    return {n: cached_model(n, dev) for n in names}


# Shared and read-only (no page mutates a result): cache_data unpickled every result's tensors on each read.
@st.cache_resource(show_spinner=False, max_entries=256)
def _attack_results(names, stamps_, image_key, settings, dev, shared_from, _x, _y):
    models_ = _by_name(names, dev)
    if not use_worker():
        return lab.attack_models(models_, _x, _y, settings, shared_from)
    if shared_from is not None or settings.entry.cost == "slow":  # not batchable: the heavy lane
        return _heavy(_no_progress(lab.attack_models), models_, _x, _y, settings, shared_from)
    lab.check_models(models_)
    owner = _owner()
    w = W.get_worker(dev)
    futures = {n: w.attack(n, m, _x, _y, settings, owner=owner) for n, m in models_.items()}
    return {n: _wait(f, owner) for n, f in futures.items()}


def attack_results(names: tuple, image_key: str, settings: lab.AttackSettings, shared_from=None, _x=None, _y=None):
    """Cached by cheap values; ``_x``/``_y`` are determined by ``image_key`` and not hashed."""
    return _attack_results(tuple(names), stamps(names), image_key, settings, device(), shared_from, _x, _y)


@st.cache_data(show_spinner=False, max_entries=256)
def _minimal_eps(names, stamps_, image_key, seed, attack, steps, dev, _x, _y):
    fn = _no_progress(lab.minimal_eps)
    return _heavy(fn, _by_name(names, dev), _x, _y, seed, attack=attack, steps=steps)


def minimal_eps(names, image_key: str, seed: int, attack: str, steps: int, _x=None, _y=None):
    return _minimal_eps(tuple(names), stamps(names), image_key, seed, attack, steps, device(), _x, _y)


def _eps_layer_job(model, x, y, settings):
    y = y if y is not None else lab.probs(model, x).argmax(1)
    return lab.eps_layer_matrix(model, x, y, settings)


@st.cache_data(show_spinner=False, max_entries=64)
def _eps_layer(name, stamps_, image_key, settings, dev, _x, _y):
    return _heavy(_no_progress(_eps_layer_job), cached_model(name, dev), _x, _y, settings)


def eps_layer(name: str, image_key: str, settings: lab.AttackSettings, _x=None, _y=None):
    return _eps_layer(name, stamps([name]), image_key, settings, device(), _x, _y)


def _pooling_job(models_, x, y, eps255, progress):
    out = []
    for k, (name, model) in enumerate(models_.items()):
        out += lab.zoo_pooling({name: model}, x, y, eps255=eps255)
        progress((k + 1) / len(models_))
    return out


@st.cache_data(show_spinner=False, max_entries=128)
def _pooling(names, stamps_, n, eps255, dev):
    x, y = sample_batch(n)
    # No progress bar in here: a cached function replays its elements on every cache hit.
    return _heavy(_pooling_job, _by_name(names, dev), x, y, eps255)


def pooling(names, n: int, eps255: float) -> list[dict]:
    """Avg-vs-max pooling report of each model's own PGD-10 perturbations of ``n`` bundled images."""
    return _pooling(tuple(names), stamps(names), int(n), float(eps255), device())


@st.cache_data(show_spinner=False, max_entries=16)
def synthetic_rows(kind: str, sides=(1, 2, 4, 8, 16, 32)) -> list[dict]:
    return [probe.synthetic_pooling(s, s, kind) for s in sides]


def _curves_job(models_, x, y, eps, steps, seed, progress):
    out = lab.robustness_curves(models_, x, y, eps, steps=steps, seed=seed, progress=lambda f: progress(0.8 * f))
    out["transfer"] = lab.transfer_matrix(
        models_, x, y, eps255=8.0, steps=steps, seed=seed, progress=lambda f: progress(0.8 + 0.2 * f)
    )
    return out


@st.cache_data(show_spinner=False, max_entries=32)
def _curves(names, stamps_, n, steps, eps, seed, dev):
    x, y = sample_batch(n, seed)
    return _heavy(_curves_job, _by_name(names, dev), x, y, eps, steps, seed, text=f"PGD-{steps} on {n} images")


def curves(names, n: int, steps: int, eps: tuple, seed: int) -> dict:
    return _curves(tuple(names), stamps(names), int(n), int(steps), tuple(eps), int(seed), device())


@st.cache_data(show_spinner="Timing forward passes…", max_entries=16, ttl=600)
def _latency(names, stamps_, dev):
    return metrics.latency_table(_by_name(names, dev))


def latency(names) -> dict[str, dict]:
    """Median forward latency per model, interleaved between models (cached for 10 minutes)."""
    return _latency(tuple(names), stamps(names), device())


@st.cache_data(show_spinner=False, max_entries=256)
def synthetic_point(side: int, kind: str) -> dict:
    return probe.synthetic_pooling(side, side, kind)


@st.cache_data(show_spinner=False, max_entries=8)
def _comparison_rows(stamp):
    return zoo_table.comparison_rows()


def comparison_rows() -> list[dict]:
    """Paired differences enlarged − baseline from the cards (cached until a card changes)."""
    return _comparison_rows(_dir_stamp())


@st.cache_data(show_spinner=False, max_entries=8)
def _pooling_contrast(stamp):
    return control.pooling_contrast()


def pooling_contrast() -> list[dict]:
    """The max-pooling control from the cards (``control.pooling_contrast``; cached until a card changes)."""
    return _pooling_contrast(_dir_stamp())


def cost_rows(names) -> list[dict]:
    return [{"label": label(n), "macs": card(n)["macs"], "params": card(n)["params"]} for n in names]


def lesson_html(trio: list[str], i: int) -> str:
    """The lesson as one self-contained HTML file, its figures computed (or served from cache) now."""
    xs, ys = sample()
    x, y = xs[i : i + 1].float() / 255, ys[i : i + 1]
    names = labels(trio)
    r4 = attack_results((trio[0],), f"sample:{i}", lesson.attack_settings(4.0), _x=x, _y=y)[trio[0]]
    r8 = attack_results((trio[0],), f"sample:{i}", lesson.attack_settings(8.0), _x=x, _y=y)[trio[0]]
    rows, points = comparison_rows(), pooling(trio, 16, 8.0)
    figures = {
        0: [viz.topk_bars(r4["p_clean"], r4["p_adv"], true_label=int(y[0]))],
        1: [viz.energy_profile({trio[0]: r8["energy"]}, labels=names)],
        2: [viz.synthetic_pooling(synthetic_rows("noise"), synthetic_point(8, "noise"))],
        3: [viz.pooling_vs_bound(points, names)],
        4: [viz.paired_differences(rows)] if rows else [],
        5: [viz.cost_bars(cost := cost_rows(trio))],
    }
    notes = {
        0: f"PGD-10 at 4/255 on bundled image #{i}, {names[trio[0]]}.",
        1: f"PGD-10 at 8/255 on bundled image #{i}.",
        3: "PGD-10 at 8/255 on 16 bundled images per model.",
        4: "From the model cards.",
        5: "From the model cards.",
    }
    attacked = (names[trio[0]], card(trio[0]))
    energy = (names[trio[0]], r8["energy"])
    held = not r4["success"]  # step 1's figure: which way to move ε
    tables = {4: zoo_table.architectures_html(rows)} if rows else {}
    return lesson.export_html(
        figures, notes, rows, points, cost, pooling_contrast(), attacked, energy, held, tables=tables
    )


def correct_marks(names: tuple, ids: tuple) -> dict[int, str]:
    """Per bundled image id, one mark per model: ✓ classified correctly (clean), ✗ not (live, cached)."""
    if len(_usable(names)) != len(names):  # a broken checkpoint (reported where the page loads its models)
        return {j: "" for j in ids}
    prefetch_clean_bits(names)
    try:
        blocks = {b: clean_block(names, b) for b in {j // CLEAN_BLOCK for j in ids}}
    except W.Busy:
        return {j: "" for j in ids}
    return {j: "".join("✓" if ok else "✗" for ok in blocks[j // CLEAN_BLOCK][:, j % CLEAN_BLOCK]) for j in ids}


@st.cache_data(show_spinner="Searching for an image the models disagree on…", max_entries=64)
def _disagreement(names, stamps_, dev, draw):
    xs, ys = sample()
    g = torch.Generator().manual_seed(draw)
    idx = torch.randperm(len(ys), generator=g)[:32]
    x, y = xs[idx].float() / 255, ys[idx]
    held = [~_heavy(_no_progress(lab.attack_flips), cached_model(n, dev), x, y, lab.pgd_settings(8.0)) for n in names]
    found = lab.disagreements(held)
    return int(idx[found[0]]) if found else None


def disagreement(names: tuple, draw: int) -> int | None:
    """A bundled image (from a seeded draw of 32) on which the models disagree under PGD-10 at 8/255:
    some hold, some are fooled or already wrong. None if the draw has none."""
    return _disagreement(tuple(names), stamps(names), device(), int(draw))


@st.cache_data(show_spinner=False, max_entries=64)
def _stage_shapes(name, stamp, dev):
    return _quick(metrics.stage_shapes, cached_model(name, dev))


def stage_shapes(name: str) -> dict:
    """Output shape of every named stage for one 32×32 input (live from the model, cached)."""
    return _stage_shapes(name, _stamp(name), device())
