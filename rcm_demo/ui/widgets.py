"""Widgets shared by several pages: checkpoint pickers, the attack panel, the image picker."""

from __future__ import annotations

import hashlib

import streamlit as st

from .. import limits as L
from ..analysis import lab
from ..analysis.probe import SYNTHETIC_KINDS
from ..attacks import ATTACKS
from ..data import CLASSES
from ..viz import images_html
from .cache import (
    checkpoints,
    decoded_upload,
    default_models,
    first_correct,
    label,
    sample,
    sample_classes,
    sample_names,
    thumbnail,
)
from .compute import correct_marks, disagreement, synthetic_point, synthetic_rows
from .frame import user_errors
from .state import UrlKey, flag, in_range, one_of


# ----------------------------------------------------------------------------- shared widgets
def models_ui(key="models"):
    names = checkpoints()
    if not names:
        st.warning("pretrained/ holds no checkpoints yet: train one with `python -m rcm_demo.train` (see README).")
        st.stop()
    st.session_state[key] = [n for n in st.session_state.get(key, []) if n in names] or default_models()[:1]
    chosen = st.multiselect(
        f"Checkpoints (1–{L.MODELS.hi:g})",
        names,
        key=key,
        max_selections=int(L.MODELS.hi),
        format_func=label,
        help="Labels come from the model cards: final map size, the change "
        "that made it, training recipe, pooling. Hover a chart for the full names; the Model "
        "zoo page lists them.",
    )
    if not chosen:
        st.info("Choose at least one checkpoint.")  # the page stops in models(), after its other widgets
    return chosen


def checkpoint_ui(key: str, text: str = "Checkpoint", container=st) -> str:
    return container.selectbox(
        text, checkpoints(), key=key, format_func=label, help="Full name: " + st.session_state.get(key, "")
    )


ATTACK_STATE = {
    "attack": one_of(ATTACKS, "PGD-L∞"),
    "eps": in_range(L.EPS["linf"]),
    "eps_l2": in_range(L.EPS["l2"]),
    "steps": in_range(L.STEPS),
    "alpha_auto": flag(True),
    "alpha": in_range(L.ALPHA["linf"]),
    "alpha_l2": in_range(L.ALPHA["l2"]),
    "targeted": flag(False),
    "target": in_range(L.Range(0, len(CLASSES) - 1, 0)),
    "seed": in_range(L.SEED),
}


def attack_ui() -> lab.AttackSettings:
    """The attack panel shared by the Attack lab and Feature-map energy pages (keys: ``ATTACK_STATE``)."""
    c1, c2, c3 = st.columns(3)
    attack = c1.selectbox(
        "Attack",
        list(ATTACKS),
        key="attack",
        help="Slow attacks (AutoAttack, Square, APGD) take seconds to a minute per model on CPU.",
    )
    entry = ATTACKS[attack]
    eps_range = L.EPS[entry.norm]
    if entry.norm == "linf":
        eps = c2.slider("ε (L∞, ×1/255)", eps_range.lo, eps_range.hi, key="eps", step=eps_range.step)
    else:
        eps = c2.slider("ε (L2 radius, [0, 1] pixels)", eps_range.lo, eps_range.hi, key="eps_l2", step=eps_range.step)
    steps = c3.slider(
        "Steps",
        int(L.STEPS.lo),
        int(L.STEPS.hi),
        key="steps",
        disabled=not entry.iterative,
        help=None if entry.iterative else f"{attack} has no steps to set.",
    )
    c4, c5, c6 = st.columns(3)
    auto = c4.toggle("Step size 2.5·ε/steps", key="alpha_auto", disabled=not entry.iterative)
    a_range = L.ALPHA[entry.norm]
    alpha = c4.number_input(
        "Step size (×1/255)" if entry.norm == "linf" else "Step size (L2)",
        a_range.lo,
        a_range.hi,
        key="alpha" if entry.norm == "linf" else "alpha_l2",
        step=a_range.step,
        disabled=auto or not entry.iterative,
        format="%.3f",
    )
    targeted = c5.toggle("Targeted", key="targeted", disabled=not entry.targetable)
    target = c5.selectbox(
        "Target class",
        range(len(CLASSES)),
        format_func=lambda i: CLASSES[i],
        key="target",
        disabled=not (targeted and entry.targetable),
    )
    seed = c6.number_input("Seed", int(L.SEED.lo), int(L.SEED.hi), key="seed", step=1)
    alpha_input = None if auto or not entry.iterative else float(alpha)
    with user_errors():
        return lab.AttackSettings(
            attack=attack,
            eps_input=float(eps),
            steps=int(steps),
            alpha_input=alpha_input,
            targeted=bool(targeted and entry.targetable),
            target=int(target),
            seed=int(seed),
        )


def image_state(default_models_: list[str]) -> dict[str, UrlKey]:
    """URL keys of ``image_ui``; the default image is one the default models all get right."""
    return {
        "img_source": one_of(IMAGE_SOURCES, IMAGE_SOURCES[0]),
        "class_filter": one_of(("all", *CLASSES), "all"),
        "sample_id": in_range(L.SAMPLE_ID, default=first_correct(default_models_)),
    }


IMAGE_SOURCES = ("Bundled CIFAR-10 sample", "Upload")


def image_ui(names=(), key="sample_id"):
    """Gallery of the bundled sample (filter by class; under each thumbnail one mark per selected model:
    ✓ classified correctly, ✗ not — computed live) or an upload; "Surprise me" picks an image on which
    the selected models disagree under PGD-10 at 8/255.

    Returns (x (1, 3, 32, 32), y (1,) or None for uploads, a label, a cheap cache key); x is None while
    there is no usable upload (the page renders its other controls, then stops), so widget state survives."""
    xs, ys = sample()
    src = st.radio("Image", IMAGE_SOURCES, horizontal=True, key="img_source")
    if src == "Upload":
        up = st.file_uploader("Upload an image (PNG, JPEG, WebP, BMP, TIFF, GIF)", key="upload")
        if up is None:
            st.info("Upload an image, or switch to the bundled sample.")
            return None, None, "no upload yet", ""
        data = up.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        try:
            x = decoded_upload(digest, data)
        except ValueError as e:
            st.error(f"Could not use {up.name!r}: {e}")
            return None, None, f"refused upload {up.name}", ""
        return x[None], None, f"upload {up.name}", f"upload:{digest}"
    cls = st.selectbox("Class filter", ["all", *CLASSES], key="class_filter")
    ids = [i for i, c in enumerate(sample_classes()) if cls == "all" or c == cls]
    if st.session_state.get(key) not in ids:
        st.session_state[key] = ids[0]
    names_of = sample_names()
    i = st.select_slider("Sample image", ids, key=key, format_func=names_of.__getitem__)
    shown = ids[ids.index(i) : ids.index(i) + 12]
    marks = correct_marks(tuple(names), tuple(shown)) if names else {j: "" for j in shown}
    st.html(images_html([(thumbnail(j), f"#{j} {marks[j]}") for j in shown], width=44))
    if names:
        st.caption("Marks: one per selected model, in order — ✓ right, ✗ wrong on the clean image.")
        st.button(
            "Surprise me",
            key="surprise",
            on_click=_surprise,
            args=(tuple(names), key),
            help="An image where the selected models disagree under PGD-10 at 8/255 (searched live).",
        )
    text = f"sample #{i} ({CLASSES[int(ys[i])]})"
    return xs[i : i + 1].float() / 255, ys[i : i + 1], text, f"sample:{i}"


def _surprise(names, key):
    found = disagreement(names, int(st.session_state.get("surprise_n", 0)))
    st.session_state["surprise_n"] = int(st.session_state.get("surprise_n", 0)) + 1
    if found is not None:
        st.session_state["img_source"], st.session_state["class_filter"] = IMAGE_SOURCES[0], "all"
        st.session_state[key] = found


def switch_to_correct_ui(names, key="sample_id"):
    """One click to the next bundled image that every selected model classifies correctly."""

    def go():
        st.session_state["img_source"] = IMAGE_SOURCES[0]
        st.session_state["class_filter"] = "all"
        st.session_state[key] = first_correct(names, after=int(st.session_state.get(key, -1)))

    st.button("Show an image all these models get right", on_click=go, key="to_correct")


def step_nav_ui(n: int, names: list[str], key: str = "step"):
    """Previous / step buttons / next, for a sequence of ``n`` steps kept in ``st.session_state[key]``."""

    def move(d):
        st.session_state[key] = min(max(int(st.session_state.get(key) or 1) + d, 1), n)

    current = int(st.session_state.get(key) or 1)
    st.segmented_control(
        "Step",
        list(range(1, n + 1)),
        key=key,
        format_func=lambda s: f"{s}. {names[s - 1]}",
        label_visibility="collapsed",
        width="content",  # "stretch" clipped the first row's last button when the six wrapped on a 1024-px projector
    )
    c1, _, c3 = st.columns([1, 2, 1])  # [1, 4, 1] cut "Previous" to "Previ…" on a 1024-px projector
    c1.button("◀ Previous", on_click=move, args=(-1,), disabled=current <= 1, key=f"{key}_prev", width="stretch")
    c3.button("Next ▶", on_click=move, args=(1,), disabled=current >= n, key=f"{key}_next", width="stretch")


def synthetic_ui(kind_key: str, side_key: str, kind_label: str = "Perturbation"):
    """Controls of the synthetic pooling view (kind of change, map side); returns (rows, current point),
    computed without any model (cached)."""
    c1, c2 = st.columns(2)
    kind = c1.radio(
        kind_label, list(SYNTHETIC_KINDS), key=kind_key, horizontal=True, captions=list(SYNTHETIC_KINDS.values())
    )
    side = c2.slider("Map side (H = W)", 1, 32, key=side_key)
    return synthetic_rows(kind), synthetic_point(side, kind)
