"""Every computation a page shows, cached: attacks, minimal budgets, layer energy, pooling, curves,
latency, the zoo tables and the lesson export. Keyed by cheap values (checkpoint names and file stamps,
image ids, settings, seed, device); the tensors passed as ``_x``/``_y`` are determined by the image key
and not hashed. Model work goes through the worker (``ui.jobs``) unless it is off."""

from __future__ import annotations

import streamlit as st
import torch

from .. import viz
from ..analysis import lab, lesson, metrics, probe, tasks
from ..serve import worker as W
from ..serve.backend import get_backend
from ..zoo import control, glance, tables, variants
from .cache import (
    CLEAN_BLOCK,
    _dir_stamp,
    _stamp,
    _usable,
    cached_model,
    card,
    clean_block,
    label,
    labels,
    prefetch_clean_bits,
    sample,
    sample_batch,
    stamps,
)
from .frame import device
from .jobs import _heavy, _owner, _quick, _wait, use_worker


def _by_name(names, dev):
    return {n: cached_model(n, dev) for n in names}


# Shared and read-only (no page mutates a result): cache_data unpickled every result's tensors on each read.
@st.cache_resource(show_spinner=False, max_entries=256)
def _attack_results(names, stamps_, image_key, settings, dev, shared_from, _x, _y):
    models_ = _by_name(names, dev)
    if not use_worker():
        return lab.attack_models(models_, _x, _y, settings, shared_from)
    if shared_from is not None or settings.entry.cost == "slow":  # not batchable: the heavy lane
        return _heavy(tasks.no_progress(lab.attack_models), models_, _x, _y, settings, shared_from)
    lab.check_models(models_)
    owner = _owner()
    w = get_backend(dev)  # the in-process worker or Ray Serve: the same interface
    futures = {n: w.attack(n, m, _x, _y, settings, owner=owner) for n, m in models_.items()}
    return {n: _wait(f, owner) for n, f in futures.items()}


def attack_results(names: tuple, image_key: str, settings: lab.AttackSettings, shared_from=None, _x=None, _y=None):
    """Cached by cheap values; ``_x``/``_y`` are determined by ``image_key`` and not hashed."""
    return _attack_results(tuple(names), stamps(names), image_key, settings, device(), shared_from, _x, _y)


@st.cache_data(show_spinner=False, max_entries=256)
def _minimal_eps(names, stamps_, image_key, seed, attack, steps, dev, _x, _y):
    fn = tasks.no_progress(lab.minimal_eps)
    return _heavy(fn, _by_name(names, dev), _x, _y, seed, attack=attack, steps=steps)


def minimal_eps(names, image_key: str, seed: int, attack: str, steps: int, _x=None, _y=None):
    return _minimal_eps(tuple(names), stamps(names), image_key, seed, attack, steps, device(), _x, _y)


@st.cache_data(show_spinner=False, max_entries=64)
def _eps_layer(name, stamps_, image_key, settings, dev, _x, _y):
    return _heavy(tasks.no_progress(tasks.eps_layer_job), cached_model(name, dev), _x, _y, settings)


def eps_layer(name: str, image_key: str, settings: lab.AttackSettings, _x=None, _y=None):
    return _eps_layer(name, stamps([name]), image_key, settings, device(), _x, _y)


@st.cache_data(show_spinner=False, max_entries=128)
def _pooling(names, stamps_, n, eps255, dev):
    x, y = sample_batch(n)
    # No progress bar in here: a cached function replays its elements on every cache hit.
    return _heavy(tasks.pooling_job, _by_name(names, dev), x, y, eps255)


def pooling(names, n: int, eps255: float) -> list[dict]:
    """Avg-vs-max pooling report of each model's own PGD-10 perturbations of ``n`` bundled images."""
    return _pooling(tuple(names), stamps(names), int(n), float(eps255), device())


@st.cache_data(show_spinner=False, max_entries=16)
def synthetic_rows(kind: str, sides=(1, 2, 4, 8, 16, 32)) -> list[dict]:
    return [probe.synthetic_pooling(s, s, kind) for s in sides]


@st.cache_data(show_spinner=False, max_entries=32)
def _curves(names, stamps_, n, steps, eps, seed, dev):
    x, y = sample_batch(n, seed)
    return _heavy(tasks.curves_job, _by_name(names, dev), x, y, eps, steps, seed, text=f"PGD-{steps} on {n} images")


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
    return tables.comparison_rows()


def comparison_rows() -> list[dict]:
    """Paired differences enlarged − baseline from the cards (cached until a card changes)."""
    return _comparison_rows(_dir_stamp())


@st.cache_data(show_spinner=False, max_entries=8)
def _pooling_contrast(stamp):
    return control.pooling_contrast()


def pooling_contrast() -> list[dict]:
    """The max-pooling control from the cards (``control.pooling_contrast``; cached until a card changes)."""
    return _pooling_contrast(_dir_stamp())


@st.cache_data(show_spinner=False, max_entries=8)
def _variants_finding(stamp):
    rows = tables.comparison_rows()
    return variants.variants_finding(rows, variants.variant_contrast(rows))


def variants_finding() -> str:
    """TRADES and width-64 pairs beside their network, in words (``variants``; cached until a card changes)."""
    return _variants_finding(_dir_stamp())


def cost_rows(names) -> list[dict]:
    return [{"label": label(n), "macs": card(n)["macs"], "params": card(n)["params"]} for n in names]


def _claim_html(rows) -> str:
    """Step 5's headline and its one figure for the export (what the page shows first)."""
    figure = glance.claim(rows)
    said = "".join(f"<p>{lesson.html_text(t)}</p>" for t in glance.headline(rows))  # the headline, as on the page
    return said + (viz.claim_svg(*figure) if figure else "")


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
    html_tables = {4: _claim_html(rows) + tables.architectures_html(rows)} if rows else {}
    return lesson.export_html(
        figures, notes, rows, points, cost, pooling_contrast(), attacked, energy, held, tables=html_tables
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
    held = [
        ~_heavy(tasks.no_progress(lab.attack_flips), cached_model(n, dev), x, y, lab.pgd_settings(8.0)) for n in names
    ]
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
