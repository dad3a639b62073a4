"""URL state owned by each page: a ``UrlKey`` (default + rule) per widget key, seeded from the link once
per session, mirrored back after the widgets; values that break a rule are named and replaced."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from .. import limits as L
from .cache import checkpoints


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
