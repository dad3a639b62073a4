"""One table of limits, units and defaults, read by the library, the widgets, URL validation and UI text.

Units: in code every budget is on the [0, 1] pixel scale. The UI shows L∞ budgets as k/255 and L2
budgets as the radius on [0, 1] pixels; ``to_code``/``to_ui``/``fmt_budget`` are the only places where
that conversion happens.

    from rcm_demo.limits import EPS, STEPS, to_code, default_alpha
    EPS["linf"].ui_max          # 32.0  (shown as 32/255)
    to_code("linf", 8)          # 0.0313...
    default_alpha(8 / 255, 10)  # 2.5·ε/steps, clipped to (0, ε]
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """A closed range in UI units, with the widget's default and step."""

    lo: float
    hi: float
    default: float
    step: float = 1.0
    unit: str = ""  # how the UI writes the unit after a number ("/255", "")

    def check(self, value, what: str) -> None:
        if value is None or not (self.lo <= value <= self.hi):  # also refuses NaN
            raise ValueError(f"{what} must be between {self.lo:g}{self.unit} and {self.hi:g}{self.unit}, got {value}")

    def __contains__(self, value) -> bool:
        try:
            return self.lo <= value <= self.hi
        except TypeError:
            return False


NORMS = ("linf", "l2")
UI_SCALE = {"linf": 255.0, "l2": 1.0}  # code value × UI_SCALE = what the UI shows

# Attack budgets in UI units: L∞ in k/255, L2 as the radius on [0, 1] pixels.
EPS = {"linf": Range(0.0, 32.0, 8.0, 0.5, "/255"), "l2": Range(0.0, 4.0, 0.5, 0.05, "")}
ALPHA = {"linf": Range(0.01, 16.0, 2.0, 0.25, "/255"), "l2": Range(0.001, 4.0, 0.1, 0.01, "")}
STEPS = Range(1, 100, 10, 1)  # PGD iterations, everywhere (UI, CLI, library)
MODELS = Range(1, 4, 3, 1)  # checkpoints compared side by side
IMAGES = Range(1, 500, 64, 8)  # images per live computation (the bundled sample has 500)
SAMPLE_ID = Range(0, 499, 0, 1)  # index into the bundled sample
SEED = Range(0, 2**31 - 1, 0, 1)
CURVE_POINTS = Range(1, 12, 6, 1)  # ε values on one robustness curve
ZOO_SWEEP = 48  # checkpoints in one "Across the zoo" measurement (one PGD-10 attack each; the lite plan has 30)
MAX_BATCH = 10_000  # images per attack call (library)
AA_ITER = Range(1, 1000, 100, 1)  # APGD / FAB iterations (the standard version's 100)
AA_QUERIES = Range(1, 10_000, 5000, 1)  # Square queries (the standard version's 5000)


def to_code(norm: str, value_ui: float) -> float:
    """A budget as the UI shows it -> the [0, 1] scale the library uses."""
    return float(value_ui) / UI_SCALE[norm]


def to_ui(norm: str, value: float) -> float:
    return float(value) * UI_SCALE[norm]


def fmt_budget(norm: str, value: float) -> str:
    """A code-scale budget as text: '8/255' for L∞, '0.5 (L2)' for L2."""
    v = to_ui(norm, value)
    return f"{v:g}/255" if norm == "linf" else f"{v:g} (L2)"


def check_eps(norm: str, eps) -> None:
    """Library-side check of a code-scale budget (scalar or per-image values)."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    values = eps.flatten().tolist() if hasattr(eps, "flatten") else [eps]
    r = EPS[norm]
    for v in values:
        if not (r.lo - 1e-9 <= to_ui(norm, float(v)) <= r.hi * (1 + 1e-6)):  # float rounding of k/255; refuses NaN
            raise ValueError(
                f"eps must be between {r.lo:g} and {r.hi:g}{r.unit} for {norm} "
                f"(code scale: {to_code(norm, r.hi):.4g}), got {float(v):.4g}"
            )


def default_alpha(eps, steps: int):
    """Step size by Madry et al.'s rule 2.5·ε/steps, never above ε and never zero; same unit as ε.

    ``eps`` may be a float or a tensor of per-image budgets (the result has the same type)."""
    a = eps * min(2.5 / max(int(steps), 1), 1.0)
    return a.clamp_min(1e-6) if hasattr(a, "clamp_min") else max(a, 1e-6)
