"""The guided lesson: six steps from "what is an adversarial example" to "what does the fix cost".

The text is data (``STEPS``); the figures are built by ``viz`` from live computations (``lab``/``probe``)
and the model cards; ``export_html`` writes the whole lesson, figures included, as one self-contained HTML
file (plotly.js inlined) so a lecturer can teach without a running server. No Streamlit here.
"""

from __future__ import annotations

import datetime
import html
import statistics
from dataclasses import dataclass

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from ..zoo.control import control_finding
from ..zoo.findings import finding
from ..zoo.intervals import unpack_bits
from .lab import AttackSettings
from .probe import SYNTHETIC_KINDS as SYNTHETIC  # noqa: F401  (the perturbation kinds of step 3)


@dataclass(frozen=True)
class Step:
    short: str  # for the step buttons
    title: str
    text: str  # one short paragraph (Markdown)
    notice: str  # "what to notice"
    page: str  # the full page that explores it further
    page_label: str
    details: str = ""  # the evidence behind the notice, one click away ("Details"); same placeholders


STEPS = (
    Step(
        "Adversarial example",
        "What an adversarial example is",
        "Take one test image the network classifies correctly and add a perturbation δ that no person would "
        "notice: every pixel moves by at most ε (here in units of 1/255). PGD searches for the δ that hurts "
        "the model most. Move ε and watch the prediction.",
        "{attack} {hint} The amplified δ is structured, not noise.",  # notice(): attack_finding, and the live verdict
        "pages/1_Attack_lab.py",
        "Attack lab",
    ),
    Step(
        "Where δ goes",
        "Where the perturbation goes",
        "Follow δ through the network: after every stage, how large is the change of the features relative to "
        "the features themselves, ‖f(x+δ) − f(x)‖ / ‖f(x)‖?",
        "{energy} Pooling is the last chance to damp it.",  # notice(): energy_finding, from the profile shown
        "pages/2_Feature_map_energy.py",
        "Feature-map energy",
    ),
    Step(
        "Pooling argument",
        "The pooling argument",
        "The last stage gives maps Z of size C×H×W; global pooling turns each channel into one number. Give "
        "every position of Z a change of fixed size — what a fixed input δ does to a larger map — and pool. "
        "Average pooling takes a mean over H·W positions; max pooling reads one position.",
        "With independent changes, average pooling shrinks like 1/√(HW) (the dashed line) while max pooling "
        "does not shrink at all. A change that is the same everywhere passes average pooling unchanged.",
        "pages/3_Pooling_lab.py",
        "Pooling lab",
    ),
    Step(
        "Real maps",
        "The same on real maps",
        "Now the real pre-pool maps of three networks that differ only in the size of that map: the 4×4 "
        "baseline and its 8×8 twins (stride 1122, or the input upsampled ×2). Each is attacked with PGD-10; "
        "both poolings are applied to the same maps.",
        "{pooling}",  # filled in from the measurement shown above it by notice() (pooling_finding)
        "pages/3_Pooling_lab.py",
        "Pooling lab",
    ),
    Step(
        "Robustness?",
        "Does it buy robustness?",
        "The model cards hold each checkpoint's accuracy per test image, clean and under attack, so an enlarged "
        "model can be compared with its baseline (for ResNet18 the 4×4 one) on exactly the same images. The "
        "figure shows, per network, what the enlarged map adds to robust accuracy (seed means, 95% intervals); "
        "the details below it hold every pair, seed and attack, and the paper's four networks side by side.",
        'Read the intervals, not the points: where an interval contains 0 (a hollow marker, "n.r.") the zoo '
        "does not show a difference, either way; the two sentences above the figure say what the cards show.",
        "pages/5_Model_zoo.py",
        "Model zoo",
        "{finding}\n\n{control}",  # findings.finding, control.control_finding: every seed and attack
    ),
    Step(
        "Cost",
        "What it costs",
        "Both fixes add no parameters: they change where the network computes, not what it learns. They do "
        "change how much it computes, because every later layer runs on a larger map.",
        "{cost}",  # filled in from the cards' parameters and multiply-adds by notice() (cost_finding)
        "pages/4_Robustness_curves.py",
        "Robustness curves",
    ),
)


def attack_settings(eps255: float) -> AttackSettings:
    """The lesson's attack: PGD-10 (L∞, step 2.5·ε/10, seed 0) at ``eps255``/255."""
    return AttackSettings(attack="PGD-L∞", eps_input=float(eps255), steps=10)


def _span(v, fmt):
    lo, hi = fmt.format(min(v)), fmt.format(max(v))
    return lo if lo == hi else f"{lo}–{hi}"


def _times(points) -> str:
    return _span([p["ratio_max"] / max(p["ratio_avg"], 1e-12) for p in points], "{:.1f}")


def _one_position(points: list[dict]) -> tuple[list[dict], str]:
    """Rows with a map of more than one position, and a sentence on the 1×1 rows (VGG16-BN 22222): there
    both poolings are the identity, so they would stretch every range to 100% and ×1.0 without showing
    anything about pooling."""
    single = [p for p in points if p["H"] * p["W"] == 1]
    if not single:
        return points, ""
    ratios = [r for p in single for r in (p["ratio_avg"], p["ratio_max"])]
    return [p for p in points if p["H"] * p["W"] > 1], (
        f" A 1×1 map has one position and nothing to pool: average and max pooling both pass "
        f"{_span(ratios, '{:.3f}')} there ({len(single)} checkpoint{'s' if len(single) > 1 else ''}, left out "
        "of the ranges above)."
    )


def by_map_size(points: list[dict]) -> dict[tuple, list[dict]]:
    """Pooling rows grouped by their map (H, W), smallest map first."""
    out: dict[tuple, list[dict]] = {}
    for p in sorted(points, key=lambda p: p["H"] * p["W"]):
        out.setdefault((p["H"], p["W"]), []).append(p)
    return out


def pooling_summary(points: list[dict], lead: str = "Measured in this table") -> str:
    """The pooling table in words, from its rows (``sweeps.zoo_pooling``): the share of the bound that
    average pooling passes, max against average, and the max-pooling ratio per map size (median)."""
    points, single = _one_position(points)
    if not points:
        return "No checkpoint with a map larger than 1×1 to measure." + single
    share = [100 * p["ratio_avg"] / p["bound_avg"] for p in points]
    medians = ", ".join(
        f"{statistics.median(p['ratio_max'] for p in ps):.3f} at {h}×{w}" for (h, w), ps in by_map_size(points).items()
    )
    return (
        f"{lead}: average pooling passes {_span(share, '{:.0f}')}% of its bound 1/√(HW); max "
        f"pooling of the same maps passes {_times(points)}× as much; the max-pooling ratio (median over "
        f"checkpoints) is {medians}." + single
    )


def pooling_finding(points: list[dict] | None) -> str:
    """Step 4's "what to notice", from the pooling measurement the step shows (``sweeps.zoo_pooling`` rows:
    each model's ratios ‖Δ pooled‖ / ‖ΔZ‖_F and its bound 1/√(HW)); without one, what to look for."""
    if not points:
        return (
            "Compare each model's average-pooling ratio with its bound 1/√(HW), and with max pooling of the same maps."
        )
    points, single = _one_position(points)
    if not points:
        return single.strip()
    share = [p["ratio_avg"] / p["bound_avg"] for p in points]
    bounds = {f"{p['H']}×{p['W']}": p["bound_avg"] for p in sorted(points, key=lambda p: -p["bound_avg"])}
    text = f"Measured here: average pooling passes {_span([100 * v for v in share], '{:.0f}')}% of its bound "
    text += "1/√(HW) (" + ", ".join(f"{b:.3f} at {m}" for m, b in bounds.items())
    text += "; real changes are partly coherent)" if max(share) < 0.95 else ")"
    text += f"; max pooling of the same maps passes {_times(points)}× as much as average pooling." + single
    return text + (
        " Both ratios divide by the map's whole change ‖ΔZ‖_F, on which scale max pooling also falls as the "
        "map grows; step 3 shows the per-position scale, where it does not."
    )


def cost_finding(cost: list[dict] | None) -> str:
    """Step 6's "what to notice", from the cards' counts of the models it shows (``label``, ``params``,
    ``macs``; the first is the baseline)."""
    if not cost:
        return "Compare the parameters and the multiply-adds of the baseline and its twins."
    base, rest = cost[0], cost[1:]
    same = all(c["params"] == base["params"] for c in rest)
    text = f"Parameters are {'equal' if same else 'not all equal'} ({base['params']:,} in {base['label']})"
    if rest:
        text += "; multiply-adds per image: " + ", ".join(
            f"{c['macs'] / base['macs']:.1f}× in {c['label']}" for c in rest
        )
    return text + ". Every later layer runs on the larger map; the time that costs is measured on request, here."


def attack_finding(attacked: tuple[str, dict] | None) -> str:
    """Step 1's "what to notice", from the card of the model it attacks (``attacked``: label, card): the
    share of the test images it classifies correctly that PGD-20 flips, from the card's per-image bits."""
    label, card = attacked or ("", {})
    m = card.get("metrics", {})
    clean, pgd = m.get("clean"), m.get("pgd20")
    same = clean and pgd and clean["n"] == pgd["n"] and clean.get("subset_sha256") == pgd.get("subset_sha256")
    if not (same and clean.get("correct_bits") and pgd.get("correct_bits")):
        return (
            "At 8/255 the two images look the same to us, yet a PGD attack flips many test images, even for "
            "adversarially trained models (the Model zoo lists each model's rate)."
        )
    n = clean["n"]
    right = unpack_bits(clean["correct_bits"], n)
    flipped = (right & ~unpack_bits(pgd["correct_bits"], n)).sum().item() / max(right.sum().item(), 1)
    who = "this adversarially trained model" if card.get("recipe") in ("at", "trades") else "this model"
    eps = pgd.get("attack", {}).get("eps", 8 / 255) * 255
    return (
        f"At {eps:.3g}/255 the two images look the same to us, yet PGD-20 flips {100 * flipped:.0f}% of the test "
        f"images {who} ({label}) classifies correctly: its card has {100 * clean['value']:.1f}% clean and "
        f"{100 * pgd['value']:.1f}% under PGD-20 at {eps:.3g}/255, on {n:,} test images."
    )


def energy_finding(energy: dict | None, label: str = "") -> str:
    """Step 2's "what to notice", from the profile the step shows (``probe.layer_energy``: stage -> its
    ``relative`` change ‖f(x+δ) − f(x)‖ / ‖f(x)‖): how the change grows from the input to the last stage."""
    if not energy or "input" not in energy or "layer4" not in energy:
        return "Compare the relative change at the input with the one after the last stage."
    first, last = energy["input"]["relative"], energy["layer4"]["relative"]
    of = f" of {label}" if label else ""
    text = f"Measured here: the relative change{of} is {100 * first:.1f}% at the input and {100 * last:.1f}% "
    if last > first:
        return (
            text
            + f"after the last stage (×{last / first:.1f}): the network amplifies δ on its way to the pooled features."
        )
    return text + "after the last stage: on this image the network does not amplify δ."


def notice(
    i: int,
    rows: list[dict],
    pooling: list[dict] | None = None,
    cost: list[dict] | None = None,
    contrast: list[dict] | None = None,
    attacked: tuple[str, dict] | None = None,
    energy: tuple[str, dict] | None = None,
    held: bool | None = None,
) -> str:
    """Step ``i``'s "what to notice"; a finding in it is generated, never written by hand: from the cards'
    paired differences (``rows``: ``tables.comparison_rows()``; ``contrast``: the max-pooling control,
    ``control.pooling_contrast()``), from the pooling measurement the step shows (``pooling``:
    ``sweeps.zoo_pooling`` rows), from the attacked model's card (``attacked``: label, card) or from the energy
    profile step 2 shows (``energy``: label, ``probe.layer_energy``); ``held``: whether step 1's live attack
    failed, which says which way to move ε."""
    return _fill(STEPS[i].notice, rows, pooling, cost, contrast, attacked, energy, held)


def details(i: int, rows=(), contrast: list[dict] | None = None) -> str:
    """Step ``i``'s details (the long sentences behind its notice), generated like the notice; "" for a step
    without."""
    return _fill(STEPS[i].details, rows, contrast=contrast)


def _fill(text, rows=(), pooling=None, cost=None, contrast=None, attacked=None, energy=None, held=None) -> str:
    if "{attack}" in text:
        text = text.replace("{attack}", attack_finding(attacked))
    if "{hint}" in text:
        hint = {True: "Raise ε until it flips.", False: "Lower ε until it holds."}.get(held, "Move ε and watch.")
        text = text.replace("{hint}", hint)
    if "{energy}" in text:
        label, profile = energy or ("", None)
        text = text.replace("{energy}", energy_finding(profile, label))
    if "{finding}" in text:
        text = text.replace("{finding}", finding(rows))
    if "{control}" in text:
        text = text.replace("{control}", control_finding(contrast or []))
    text = text.replace("{pooling}", pooling_finding(pooling)) if "{pooling}" in text else text
    return text.replace("{cost}", cost_finding(cost)) if "{cost}" in text else text


def step_index(step: int) -> int:
    """1-based step number (as in the link) -> index into ``STEPS``; ValueError outside 1..len(STEPS)."""
    if not 1 <= int(step) <= len(STEPS):
        raise ValueError(f"the lesson has steps 1 to {len(STEPS)}, got {step}")
    return int(step) - 1


def html_text(text: str) -> str:
    """A generated text as HTML: escaped, its paragraphs kept, its **bold** markers as <b>."""
    out = html.escape(text).replace("\n\n", "<br><br>")
    while out.count("**") >= 2:
        out = out.replace("**", "<b>", 1).replace("**", "</b>", 1)
    return out


def export_html(
    figures: dict[int, list[go.Figure]],
    notes=None,
    rows=(),
    pooling=None,
    cost=None,
    contrast=None,
    attacked=None,
    energy=None,
    held=None,
    tables=None,
) -> str:
    """The whole lesson as one self-contained HTML page: every step's text, its figures (interactive,
    plotly.js inlined once, so it works offline), an optional HTML table per step (``tables``, generated by
    the lab, e.g. ``tables.architectures_html``) and an optional note per step (e.g. what was computed)."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>rcm-demo lesson</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;font-size:18px;line-height:1.5}"
        "h2{margin-top:2em}table.four{border-collapse:collapse;font-size:15px}"
        "table.four td,table.four th{border:1px solid #ccc;padding:.3em .6em}"
        ".notice{background:#eef5fb;padding:.6em 1em;border-left:4px solid #0072B2}"
        ".note{color:#666;font-size:14px}</style>",
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
        "<h1>Feature-map size and adversarial robustness — a lesson</h1>",
        f"<p class='note'>Exported from rcm-demo on {datetime.date.today().isoformat()}. Figures are computed by "
        "the lab from its bundled models and their cards.</p>",
    ]
    for i, step in enumerate(STEPS):
        parts.append(f"<h2>{i + 1}. {html.escape(step.title)}</h2><p>{html.escape(step.text)}</p>")
        for fig in figures.get(i, []):
            parts.append(pio.to_html(fig, full_html=False, include_plotlyjs=False))
        if tables and tables.get(i):
            parts.append(tables[i])
        what = html_text(notice(i, list(rows), pooling, cost, contrast, attacked, energy, held))
        parts.append(f"<p class='notice'><b>What to notice:</b> {what}</p>")
        if more := details(i, list(rows), contrast):
            parts.append(f"<details><summary>Details</summary><p>{html_text(more)}</p></details>")
        if notes and notes.get(i):
            parts.append(f"<p class='note'>{html.escape(notes[i])}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
