"""The only module that imports Streamlit: page frame, URL state, shared widgets, cached computations.

Pages follow one contract: ``page_header`` -> ``url_state`` with the page's own keys -> controls from
here -> cached computation keyed by cheap values -> metrics/tables and figures from ``rcm_demo.viz``
(shown with ``chart``). User errors become ``st.error``/``st.info``, never a traceback.

A page declares its URL keys next to its widgets::

    STATE = {"models": ui.checkpoint_list(ui.default_models()), **ui.ATTACK_STATE, "n": ui.in_range(L.IMAGES)}
    ui.url_state(STATE)        # seeds widget keys from the link once per session, says what it replaced
    ...widgets with key=<the same names>...
    ui.write_url(STATE)        # mirrors the widgets back into the link
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st
import torch
from streamlit.errors import StreamlitPageNotFoundError

from . import lab, metrics, probe, zoo
from . import limits as L
from .attacks import ATTACKS
from .data import CLASSES, decode_image, fixed_subset, load_sample
from .zoo import CheckpointError, default_checkpoints, get_checkpoint, load_model, scan_checkpoints

if os.environ.get("RCM_TORCH_THREADS"):
    torch.set_num_threads(int(os.environ["RCM_TORCH_THREADS"]))

ROOT = Path(__file__).resolve().parent.parent
DEVICE_KEY = "device"


# ----------------------------------------------------------------------------- page frame
def pages() -> list[dict]:
    """The app's pages from the ``pages/`` folder: path, label (from the file name) and the first line
    of the page's docstring (its description)."""
    out = []
    for p in sorted((ROOT / "pages").glob("*.py")):
        doc = ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) or ""
        label = p.stem.split("_", 1)[-1].replace("_", " ")
        out.append({"path": f"pages/{p.name}", "label": label, "description": doc.split("\n")[0].rstrip(".")})
    return out


def page_header(title: str, intro: str, icon: str = "🔬"):
    st.set_page_config(page_title=f"{title} · rcm-demo", page_icon=icon, layout="wide")
    with st.sidebar:  # our own navigation: readable labels, "Home" instead of the file name "app"
        try:
            st.page_link("app.py", label="Home")
            for p in pages():
                st.page_link(p["path"], label=p["label"], help=p["description"])
            st.divider()
        except StreamlitPageNotFoundError:
            pass  # a page run on its own (``streamlit run pages/…``, AppTest): no multipage app to navigate
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


def chart(fig, key: str):
    """Every figure goes through here: ``theme=None`` keeps the figure's own colour scales (Streamlit's
    chart theme would otherwise replace them, e.g. start a heatmap at light pink instead of black)."""
    st.plotly_chart(fig, key=key, theme=None, width="stretch")


# ----------------------------------------------------------------------------- device
def devices() -> list[str]:
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def device() -> str:
    if st.session_state.get(DEVICE_KEY) not in devices():
        st.session_state[DEVICE_KEY] = devices()[-1]
    return st.session_state[DEVICE_KEY]


def device_ui():
    st.radio(
        "Compute device",
        devices(),
        key=DEVICE_KEY,
        horizontal=True,
        help="CUDA is offered when a GPU is present; the choice applies to every page of this session.",
    )


# ----------------------------------------------------------------------------- the zoo, cached
def _stamp(name: str) -> tuple:
    """Size and mtime of the card and the weights: a checkpoint rewritten on disk is loaded (and verified) anew."""
    out = []
    for suffix in (".json", ".safetensors"):
        try:
            s = (zoo.PRETRAINED_DIR / f"{name}{suffix}").stat()
            out += [s.st_size, s.st_mtime_ns]
        except OSError:
            out += [None, None]
    return tuple(out)


def _dir_stamp() -> tuple:
    try:
        d = zoo.PRETRAINED_DIR
        return (str(d), *sorted((p.name, p.stat().st_mtime_ns) for p in d.glob("*.json")))
    except OSError:
        return ()


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
    """Short human name of a checkpoint, from its card."""
    return _label(name, _stamp(name))


@st.cache_data(show_spinner=False)
def _label(name: str, stamp: tuple) -> str:
    return get_checkpoint(name).label


def labels(names) -> dict[str, str]:
    return {n: label(n) for n in names}


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
@dataclass(frozen=True)
class UrlKey:
    """What a shared link may set for one widget key: its default and the rule a value must pass."""

    default: Any
    valid: Callable[[Any], bool] = lambda v: True


def in_range(r: L.Range, default=None, multiple_of=None) -> UrlKey:
    d = r.default if default is None else default
    return UrlKey(
        type(r.lo)(d) if isinstance(r.lo, float) else d,
        lambda v: v in r and (multiple_of is None or v % multiple_of == 0),
    )


def one_of(options, default) -> UrlKey:
    options = tuple(options)
    return UrlKey(default, lambda v: v in options)


def flag(default: bool = False) -> UrlKey:
    return UrlKey(bool(default), lambda v: isinstance(v, bool))


def checkpoint_list(default: list[str]) -> UrlKey:
    return UrlKey(list(default), lambda v: len(v) in L.MODELS and set(v) <= set(checkpoints()))


def checkpoint_key(default: str) -> UrlKey:
    return UrlKey(default, lambda v: v in checkpoints())


_TRUE, _FALSE = ("1", "true", "True"), ("0", "false", "False")


def _parse(raw, default):
    if isinstance(default, bool):
        if raw not in _TRUE + _FALSE:
            raise ValueError(raw)
        return raw in _TRUE
    if isinstance(default, list):
        return list(raw)
    if isinstance(default, float):
        v = float(raw)
        if v != v:  # NaN
            raise ValueError(raw)
        return v
    return type(default)(raw)


def url_state(keys: dict[str, UrlKey]) -> list[tuple[str, str, Any]]:
    """Seed each widget key from ``st.query_params`` once per session (else its default). Values a link
    sets that break a key's rule are replaced by the default, and the page says which ones."""
    qp = st.query_params
    replaced = []
    for key, rule in keys.items():
        if key in st.session_state:
            # Re-assigning keeps the value of a widget that this run does not render (a hidden view's
            # control) instead of letting Streamlit drop it.
            st.session_state[key] = st.session_state[key]
            continue
        value = rule.default
        if key in qp:
            raw = qp.get_all(key) if isinstance(rule.default, list) else qp[key]
            try:
                parsed = _parse(raw, rule.default)
                ok = rule.valid(parsed)
            except (TypeError, ValueError):
                ok = False
            if ok:
                value = parsed
            else:
                replaced.append((key, raw, rule.default))
        st.session_state[key] = value
    if replaced:
        st.info(
            "This link asked for values the lab cannot use; they were replaced by defaults: "
            + "; ".join(f"{k} = {_show(raw)} → {_show(d)}" for k, raw, d in replaced)
        )
    return replaced


def _show(v) -> str:
    return ", ".join(map(str, v)) if isinstance(v, list) else str(v)


def write_url(keys):
    """Mirror the widget values of ``keys`` into the link, so the view can be shared."""
    params = {}
    for k in keys:
        v = st.session_state.get(k)
        if isinstance(v, bool):
            params[k] = "1" if v else "0"
        elif isinstance(v, list):
            params[k] = [str(i) for i in v]
        elif v is not None:
            params[k] = str(v)
    current = {
        k: st.query_params.get_all(k) if isinstance(v, list) else st.query_params.get(k) for k, v in params.items()
    }
    if current != params or set(st.query_params.keys()) - set(params):
        st.query_params.from_dict(params)


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


@st.cache_data(show_spinner=False)
def sample():
    s = load_sample()
    return s.x, s.y


@st.cache_data(show_spinner=False, max_entries=64)
def decoded_upload(digest: str, data: bytes):
    return decode_image(data)


@st.cache_data(show_spinner=False, max_entries=256)
def _first_correct(names, stamps_, dev, after):
    xs, ys = sample()
    found = lab.first_correct(_by_name(names, dev), xs.float() / 255, ys, after)
    return 0 if found is None else found


def first_correct(names, after: int = -1) -> int:
    """The first bundled image after ``after`` that every model in ``names`` classifies correctly
    (computed live, cached; image 0 when there is none or no model)."""
    usable = []
    for n in names:
        try:
            cached_model(n, device())
            usable.append(n)
        except CheckpointError:
            pass  # a broken checkpoint is reported where the page loads its models
    return _first_correct(tuple(usable), stamps(usable), device(), int(after)) if usable else 0


def image_state(default_models_: list[str]) -> dict[str, UrlKey]:
    """URL keys of ``image_ui``; the default image is one the default models all get right."""
    return {
        "img_source": one_of(IMAGE_SOURCES, IMAGE_SOURCES[0]),
        "class_filter": one_of(("all", *CLASSES), "all"),
        "sample_id": in_range(L.SAMPLE_ID, default=first_correct(default_models_)),
    }


IMAGE_SOURCES = ("Bundled CIFAR-10 sample", "Upload")


def image_ui(key="sample_id"):
    """Gallery of the bundled sample (filter by class) or an upload.

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
    ids = [i for i in range(len(ys)) if cls == "all" or CLASSES[int(ys[i])] == cls]
    if st.session_state.get(key) not in ids:
        st.session_state[key] = ids[0]
    i = st.select_slider("Sample image", ids, key=key, format_func=lambda i: f"#{i} {CLASSES[int(ys[i])]}")
    shown = ids[ids.index(i) : ids.index(i) + 12]
    st.image([xs[j].permute(1, 2, 0).numpy() for j in shown], caption=[f"#{j}" for j in shown], width=40)
    text = f"sample #{i} ({CLASSES[int(ys[i])]})"
    return xs[i : i + 1].float() / 255, ys[i : i + 1], text, f"sample:{i}"


def switch_to_correct_ui(names, key="sample_id"):
    """One click to the next bundled image that every selected model classifies correctly."""

    def go():
        st.session_state["img_source"] = IMAGE_SOURCES[0]
        st.session_state["class_filter"] = "all"
        st.session_state[key] = first_correct(names, after=int(st.session_state.get(key, -1)))

    st.button("Show an image all these models get right", on_click=go, key="to_correct")


def on_demand(text: str, key: str, signature: tuple, help: str | None = None) -> bool:
    """A button for an expensive panel whose result stays shown while its inputs (``signature``) are
    unchanged: True when clicked now, or clicked earlier with the same inputs (then served from cache)."""
    if st.button(text, key=key, help=help):
        st.session_state[f"_{key}_signature"] = signature
        return True
    return st.session_state.get(f"_{key}_signature") == signature


def sample_batch(n: int, seed: int = 0):
    """The first ``n`` images of a seeded shuffle of the bundled sample (balanced enough for curves)."""
    xs, ys = sample()
    with user_errors():
        idx = fixed_subset(len(ys), int(n), seed)
    return xs[idx].float() / 255, ys[idx]


def progress_bar(text: str):
    bar = st.progress(0.0, text=text)
    return lambda frac: bar.progress(min(float(frac), 1.0), text=f"{text} {100 * frac:.0f}%")


# ----------------------------------------------------------------------------- cached computations
def _by_name(names, dev):
    return {n: cached_model(n, dev) for n in names}


@st.cache_data(show_spinner=False, max_entries=256)
def _attack_results(names, stamps_, image_key, settings, dev, shared_from, _x, _y):
    return lab.attack_models(_by_name(names, dev), _x, _y, settings, shared_from)


def attack_results(names: tuple, image_key: str, settings: lab.AttackSettings, shared_from=None, _x=None, _y=None):
    """Cached by cheap values; ``_x``/``_y`` are determined by ``image_key`` and not hashed."""
    return _attack_results(tuple(names), stamps(names), image_key, settings, device(), shared_from, _x, _y)


@st.cache_data(show_spinner=False, max_entries=256)
def _minimal_eps(names, stamps_, image_key, seed, attack, steps, dev, _x, _y):
    return lab.minimal_eps(_by_name(names, dev), _x, _y, seed, attack=attack, steps=steps)


def minimal_eps(names, image_key: str, seed: int, attack: str, steps: int, _x=None, _y=None):
    return _minimal_eps(tuple(names), stamps(names), image_key, seed, attack, steps, device(), _x, _y)


@st.cache_data(show_spinner=False, max_entries=64)
def _eps_layer(name, stamps_, image_key, settings, dev, _x, _y):
    model = cached_model(name, dev)
    y = _y if _y is not None else lab.probs(model, _x).argmax(1)
    return lab.eps_layer_matrix(model, _x, y, settings)


def eps_layer(name: str, image_key: str, settings: lab.AttackSettings, _x=None, _y=None):
    return _eps_layer(name, stamps([name]), image_key, settings, device(), _x, _y)


@st.cache_data(show_spinner=False, max_entries=128)
def _pooling(names, stamps_, n, eps255, dev):
    x, y = sample_batch(n)
    out = []
    bar = progress_bar("PGD-10 and pooling") if len(names) > 1 else None
    for i, name in enumerate(names):
        out += lab.zoo_pooling({name: cached_model(name, dev)}, x, y, eps255=eps255)
        if bar:
            bar((i + 1) / len(names))
    return out


def pooling(names, n: int, eps255: float) -> list[dict]:
    """Avg-vs-max pooling report of each model's own PGD-10 perturbations of ``n`` bundled images."""
    return _pooling(tuple(names), stamps(names), int(n), float(eps255), device())


@st.cache_data(show_spinner=False, max_entries=16)
def synthetic_rows(kind: str, sides=(1, 2, 4, 8, 16, 32)) -> list[dict]:
    return [probe.synthetic_pooling(s, s, kind) for s in sides]


@st.cache_data(show_spinner=False, max_entries=32)
def _curves(names, stamps_, n, steps, eps, seed, dev):
    x, y = sample_batch(n, seed)
    models_ = _by_name(names, dev)
    out = lab.robustness_curves(
        models_, x, y, eps, steps=steps, seed=seed, progress=progress_bar(f"PGD-{steps} on {n} images")
    )
    out["transfer"] = lab.transfer_matrix(models_, x, y, eps255=8.0, steps=steps, seed=seed)
    return out


def curves(names, n: int, steps: int, eps: tuple, seed: int) -> dict:
    return _curves(tuple(names), stamps(names), int(n), int(steps), tuple(eps), int(seed), device())


@st.cache_data(show_spinner="Timing forward passes…", max_entries=16, ttl=600)
def _latency(names, stamps_, dev):
    return metrics.latency_table(_by_name(names, dev))


def latency(names) -> dict[str, dict]:
    """Median forward latency per model, interleaved between models (cached for 10 minutes)."""
    return _latency(tuple(names), stamps(names), device())
