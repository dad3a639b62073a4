"""The only module that imports Streamlit: cached loaders, shared widgets, URL state, error display.

Pages follow one contract: ``page_header`` -> controls from here -> cached computation keyed by
cheap values -> metrics/tables and figures from ``rcm_demo.viz``. User errors become ``st.error``.
"""
from __future__ import annotations

import contextlib
import hashlib
import os

import streamlit as st
import torch

from . import lab
from .attacks import ATTACKS
from .data import CLASSES, decode_image, load_sample
from .zoo import CheckpointError, get_checkpoint, list_checkpoints, load_model

if os.environ.get("RCM_TORCH_THREADS"):
    torch.set_num_threads(int(os.environ["RCM_TORCH_THREADS"]))

DEVICE_KEY = "device"


# ----------------------------------------------------------------------------- page frame
def page_header(title: str, intro: str, icon: str = "🔬"):
    st.set_page_config(page_title=f"{title} · rcm-demo", page_icon=icon, layout="wide")
    st.title(title)
    st.caption(intro)


@contextlib.contextmanager
def user_errors():
    """Show library refusals (bad input, limits, broken checkpoints) as messages, not tracebacks."""
    try:
        yield
    except (ValueError, CheckpointError) as e:
        st.error(str(e))
        st.stop()


# ----------------------------------------------------------------------------- device
def devices() -> list[str]:
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def device() -> str:
    if st.session_state.get(DEVICE_KEY) not in devices():
        st.session_state[DEVICE_KEY] = devices()[-1]
    return st.session_state[DEVICE_KEY]


def device_ui():
    st.radio("Compute device", devices(), key=DEVICE_KEY, horizontal=True,
             help="CUDA is offered when a GPU is present; the choice applies to every page of this session.")


# ----------------------------------------------------------------------------- cached resources
@st.cache_resource(show_spinner="Loading model…", max_entries=32)
def _load(name: str, dev: str, stamp: tuple):
    return load_model(name, device=dev)


def _stamp(name: str) -> tuple:
    """Size and mtime of the card and the weights: a checkpoint rewritten on disk is loaded (and verified) anew."""
    from .zoo import PRETRAINED_DIR
    out = []
    for suffix in (".json", ".safetensors"):
        try:
            st_ = (PRETRAINED_DIR / f"{name}{suffix}").stat()
            out += [st_.st_size, st_.st_mtime_ns]
        except OSError:
            out += [None, None]
    return tuple(out)


def cached_model(name: str, dev: str):
    """A shared, read-only model (never mutated: attacks and probes leave models as they are)."""
    return _load(name, dev, _stamp(name))


def models(names, dev=None) -> dict:
    """Load the chosen checkpoints; a broken one is reported and skipped, the others keep working."""
    out = {}
    if not names:
        st.stop()
    for n in lab.check_models(names):
        try:
            out[n] = cached_model(n, dev or device())
        except CheckpointError as e:
            st.error(f"{e}")
    if not out:
        st.info("No usable model selected.")
        st.stop()
    return out


@st.cache_data(show_spinner=False)
def sample():
    s = load_sample()
    return s.x, s.y


@st.cache_data(show_spinner=False, max_entries=64)
def decoded_upload(digest: str, data: bytes):
    return decode_image(data)


def checkpoints() -> list[str]:
    return list_checkpoints()


# The controlled comparison the lab is about: a 4x4 baseline and its two 8x8 twins (same recipe).
PREFERRED = ("resnet18w16_s1222_x1_avg.at", "resnet18w16_s1122_x1_avg.at", "resnet18w16_s1222_x2_avg.at")


def default_models(k: int = 3) -> list[str]:
    names = checkpoints()
    preferred = [n for n in PREFERRED if n in names]
    return (preferred + [n for n in names if n not in preferred])[:k]


def card(name: str) -> dict:
    return _card(name, _stamp(name))


@st.cache_data(show_spinner=False)
def _card(name: str, stamp: tuple) -> dict:
    return get_checkpoint(name).meta


# ----------------------------------------------------------------------------- URL state
def url_state(defaults: dict):
    """Seed widget keys from ``st.query_params`` once per session; ``write_url`` mirrors them back."""
    qp = st.query_params
    for key, default in defaults.items():
        if key in st.session_state:
            continue
        value = default
        if key in qp:
            raw = qp.get_all(key) if isinstance(default, list) else qp[key]
            try:
                parsed = _parse(raw, default)
                if URL_RULES.get(key, lambda v: True)(parsed):
                    value = parsed
            except (TypeError, ValueError):
                pass
        st.session_state[key] = value


def _in(lo, hi):
    return lambda v: lo <= v <= hi


# What a shared link may set: anything else falls back to the page's default.
URL_RULES = {
    "models": lambda v: 1 <= len(v) <= lab.LIMITS["models"] and set(v) <= set(checkpoints()),
    "attack": lambda v: v in ATTACKS, "eps": _in(0, lab.LIMITS["eps255"]), "eps_l2": _in(0, lab.LIMITS["eps_l2"]),
    "steps": _in(1, lab.LIMITS["steps"]), "alpha": _in(0, lab.LIMITS["alpha255"]), "target": _in(0, 9),
    "seed": _in(0, lab.LIMITS["seed"]), "sample_id": _in(0, 499), "pool_n": _in(1, 128), "pool_eps": _in(0.5, 16),
    "syn_kind": lambda v: v in ("noise", "uniform", "blob"), "syn_side": _in(1, 32),
    "curve_n": lambda v: 8 <= v <= lab.LIMITS["images"] and v % 8 == 0, "curve_steps": _in(1, 50),
    "curve_max": _in(2, 16), "pool_model": lambda v: v in checkpoints(), "zoo_card": lambda v: v in checkpoints(),
}


def _parse(raw, default):
    if isinstance(default, bool):
        return raw in ("1", "true", "True")
    if isinstance(default, list):
        return list(raw)
    return type(default)(raw)


def write_url(keys):
    params = {}
    for k in keys:
        v = st.session_state.get(k)
        if isinstance(v, bool):
            params[k] = "1" if v else "0"
        elif isinstance(v, list):
            params[k] = [str(i) for i in v]
        elif v is not None:
            params[k] = str(v)
    if dict(st.query_params.to_dict()) != {k: (v[-1] if isinstance(v, list) and v else v) for k, v in params.items()}:
        st.query_params.from_dict(params)


# ----------------------------------------------------------------------------- widgets
def models_ui(key="models", max_models=lab.LIMITS["models"], default=None):
    names = checkpoints()
    if not names:
        st.warning("pretrained/ holds no checkpoints yet: train one with `python -m rcm_demo.train` (see README).")
        st.stop()
    st.session_state[key] = [n for n in st.session_state.get(key, default or names[:3]) if n in names] or names[:1]
    chosen = st.multiselect(f"Checkpoints (1–{max_models})", names, key=key, max_selections=max_models)
    if not chosen:
        st.info("Choose at least one checkpoint.")  # the page stops in models(), after its other widgets
    return chosen


def attack_ui(prefix="") -> lab.AttackSettings:
    c1, c2, c3 = st.columns(3)
    attack = c1.selectbox("Attack", list(ATTACKS), key=prefix + "attack")
    _, norm, iterative, targetable = ATTACKS[attack]
    if norm == "linf":
        eps = c2.slider("ε (×1/255, L∞)", 0.0, lab.LIMITS["eps255"], key=prefix + "eps", step=0.5)
    else:
        eps = c2.slider("ε (L2 radius)", 0.0, lab.LIMITS["eps_l2"], key=prefix + "eps_l2", step=0.05)
    steps = c3.slider("Steps", 1, lab.LIMITS["steps"], key=prefix + "steps", disabled=not iterative)
    c4, c5, c6 = st.columns(3)
    unit = "×1/255" if norm == "linf" else "L2"
    alpha_default = lab.default_alpha(eps, steps)
    alpha = c4.number_input(f"Step size ({unit}; 0 = 2.5·ε/steps)", 0.0, lab.LIMITS["alpha255"],
                            key=prefix + "alpha", disabled=not iterative, step=0.25)
    targeted = c5.toggle("Targeted", key=prefix + "targeted", disabled=not targetable)
    target = c5.selectbox("Target class", range(10), format_func=lambda i: CLASSES[i], key=prefix + "target",
                          disabled=not (targeted and targetable))
    seed = c6.number_input("Seed", 0, lab.LIMITS["seed"], key=prefix + "seed", step=1)
    with user_errors():
        return lab.AttackSettings(attack=attack, eps_input=float(eps), steps=int(steps),
                                  alpha_input=float(alpha) if alpha > 0 else alpha_default,
                                  targeted=bool(targeted and targetable), target=int(target), seed=int(seed))


ATTACK_DEFAULTS = {"attack": "PGD-L∞", "eps": 8.0, "eps_l2": 0.5, "steps": 10, "alpha": 0.0, "targeted": False,
                   "target": 0, "seed": 0}


def image_ui(key="sample_id"):
    """Gallery of the bundled sample (filter by class) or an upload.

    Returns (x (1, 3, 32, 32), y (1,) or None for uploads, a label, a cheap cache key); x is None while
    there is no usable upload (the page renders its other controls, then stops), so widget state survives."""
    xs, ys = sample()
    src = st.radio("Image", ["Bundled CIFAR-10 sample", "Upload"], horizontal=True, key="img_source")
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
    ids = [i for i in range(len(ys)) if cls == "all" or CLASSES[int(ys[i])] == cls]
    if st.session_state.get(key) not in ids:
        st.session_state[key] = ids[0]
    i = st.select_slider("Sample image", ids, key=key, format_func=lambda i: f"#{i} {CLASSES[int(ys[i])]}")
    shown = ids[ids.index(i):ids.index(i) + 12]
    st.image([xs[j].permute(1, 2, 0).numpy() for j in shown], caption=[f"#{j}" for j in shown], width=40)
    label = f"sample #{i} ({CLASSES[int(ys[i])]})"
    return xs[i:i + 1].float() / 255, ys[i:i + 1], label, f"sample:{i}"


# ----------------------------------------------------------------------------- cached computations
def _by_name(names, dev):
    return {n: cached_model(n, dev) for n in names}


def stamps(names) -> tuple:
    """Part of every cache key: results of a checkpoint rewritten on disk are not served again."""
    return tuple(_stamp(n) for n in names)


@st.cache_data(show_spinner=False, max_entries=256)
def _attack_results(names, stamps_, image_key, settings, dev, shared_from, _x, _y):
    return lab.attack_models(_by_name(names, dev), _x, _y, settings, shared_from)


def attack_results(names: tuple, image_key: str, settings: lab.AttackSettings, dev: str, shared_from=None,
                   _x=None, _y=None):
    """Cached by cheap values; ``_x``/``_y`` are determined by ``image_key`` and not hashed."""
    return _attack_results(names, stamps(names), image_key, settings, dev, shared_from, _x, _y)


@st.cache_data(show_spinner=False, max_entries=256)
def _minimal_eps(names, stamps_, image_key, seed, dev, _x, _y):
    return lab.minimal_eps(_by_name(names, dev), _x, _y, seed)


def minimal_eps(names: tuple, image_key: str, seed: int, dev: str, _x=None, _y=None):
    return _minimal_eps(names, stamps(names), image_key, seed, dev, _x, _y)


@st.cache_data(show_spinner=False, max_entries=64)
def _eps_layer(name, stamps_, image_key, settings, dev, _x, _y):
    y = _y if _y is not None else lab.probs(cached_model(name, dev), _x).argmax(1)
    return lab.eps_layer_matrix(cached_model(name, dev), _x, y, settings)


def eps_layer(name: str, image_key: str, settings: lab.AttackSettings, dev: str, _x=None, _y=None):
    return _eps_layer(name, stamps([name]), image_key, settings, dev, _x, _y)


def sample_batch(n: int, seed: int = 0):
    """The first ``n`` images of a seeded shuffle of the bundled sample (balanced enough for curves)."""
    from .data import fixed_subset

    xs, ys = sample()
    with user_errors():
        idx = fixed_subset(len(ys), int(n), seed)
    return xs[idx].float() / 255, ys[idx]


def progress_bar(text: str):
    bar = st.progress(0.0, text=text)
    return lambda frac: bar.progress(min(float(frac), 1.0), text=f"{text} {100 * frac:.0f}%")
