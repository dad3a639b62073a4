"""What the cards say, written out: the README's zoo section and pooling medians, docs/zoo.md and
docs/pooling.md, the results table and the reproduction report (``python -m rcm_demo.evaluate --readme``,
``--table``, ``--report``). Everything is read from the cards, except the pooling table, which is measured
on the bundled images."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

from ..analysis.lesson import by_map_size, pooling_summary
from ..analysis.metrics import latency_table
from ..analysis.sweeps import zoo_pooling
from ..attacks.evaluation import EVAL_ATTACKS
from ..data import fixed_subset, load_sample
from ..viz import claim_svg_text, paired_differences
from ..zoo import (
    display_labels,
    get_checkpoint,
    list_checkpoints,
    load_model,
)
from ..zoo.control import control_finding, pooling_contrast
from ..zoo.findings import architectures_finding, finding
from ..zoo.glance import claim, headline, headline_note
from ..zoo.intervals import interval_text, verdict
from ..zoo.tables import (
    architectures_markdown,
    budget_text,
    comparison_rows,
    comparisons_markdown,
    metric_cell,
)
from ..zoo.variants import variant_contrast, variants_finding
from .plan import plan_summary

POOLING_N = 64  # bundled images behind the README's pooling table


def markdown(rows, keys) -> str:
    head = "| checkpoint | " + " | ".join(EVAL_ATTACKS[k].label for k in keys) + " |"
    sep = "|---" * (len(keys) + 1) + "|"
    body = [
        "| " + r["checkpoint"] + " | " + " | ".join(f"{100 * r[k]:.1f}" if k in r else "–" for k in keys) + " |"
        for r in rows
    ]
    return "\n".join([head, sep, *body])


def _budget_lines(names, directory) -> list[str]:
    """The plan's state and which training budgets the zoo holds, with how many checkpoints each."""
    budgets: dict[str, list[str]] = {}
    for name in names:
        ck = get_checkpoint(name, directory)
        budgets.setdefault(f"{ck.tier} tier, {budget_text(ck.meta)}", []).append(ck.label)
    lines = [plan_summary(directory), ""]
    return lines + [f"- **{b}**: {len(v)} checkpoint{'s' * (len(v) != 1)}" for b, v in budgets.items()]


FOUR = (
    "The paper's four networks, each reference-default stride setting against its enlarged-map twin (AT, "
    "average pooling):"
)


def _findings(rows, contrast, directory=None) -> list[str]:
    """The main pair's finding, the max-pooling control (``contrast``: ``pooling_contrast`` rows), the four
    networks side by side and, where the zoo holds them, their TRADES and width-64 pairs (docs/zoo.md and the
    report)."""
    control = control_finding(contrast)
    four = [finding(rows), control, FOUR, architectures_markdown(rows), architectures_finding(rows)]
    more = variants_finding(rows, variant_contrast(rows, directory))
    return four + ([more] if more else [])


def at_a_glance(rows) -> list[str]:
    """The headline sentences and, where the main pair has a robust metric, the line that says why that
    attack (README, docs/zoo.md, the report)."""
    note = headline_note(rows)
    return ["**What the zoo shows.** " + " ".join(headline(rows)), *([f"*{note}*"] if note else [])]


def claim_figure(rows) -> str:
    """docs/claim.svg: the one figure (``viz.claim_svg_text``) under the headline's attack."""
    figure = claim(rows)
    return claim_svg_text(*figure) if figure else claim_svg_text([], "robust", "No evaluated pair in the zoo yet")


def readme_zoo(directory=None, rows=None, contrast=None) -> str:
    """The README's zoo section, generated from the cards and kept short (the README is a front page): the
    answer in two sentences, the one figure (docs/claim.svg), the plan's state and budgets, and where the
    evidence is (``zoo_doc``, docs/zoo.md: every checkpoint, pair, seed and attack, the control, the four
    networks side by side). ``rows`` / ``contrast``: ``comparison_rows`` / ``pooling_contrast`` when the
    caller has them already (they unpack cards' bits)."""
    rows = comparison_rows(directory=directory) if rows is None else rows
    return "\n\n".join(
        [
            *at_a_glance(rows),
            "![What the enlarged final map adds to robust accuracy, per network, seed means with 95% intervals]"
            "(docs/claim.svg)",
            "\n".join(_budget_lines(list_checkpoints(directory), directory)),
            "**Details**: every checkpoint with its metrics, every enlarged/baseline pair per seed and per attack, "
            "the max-pooling control and the four networks side by side, each with its sentence: "
            "[docs/zoo.md](docs/zoo.md) (generated from the cards by the same command).",
        ]
    )


def results_table(directory=None, rows=None, contrast=None) -> str:
    """The whole zoo from the cards: which budgets it holds, one row per checkpoint (accuracy in %, ± one
    binomial standard error), the paired differences enlarged-minus-baseline on the same images, the
    finding on the main pair in words and the four networks side by side."""
    names = list_checkpoints(directory)
    lines = _budget_lines(names, directory)
    labels = display_labels(names, directory)
    lines += [
        "",
        "| model | checkpoint | map | MMACs | clean | PGD-20 | CW-30 | AutoAttack |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        ck = get_checkpoint(name, directory)
        mets = ck.meta.get("metrics", {})
        h, w = ck.meta["pre_pool_hw"]
        cells = " | ".join(metric_cell(mets.get(k)) for k in ("clean", "pgd20", "cw30", "autoattack"))
        lines.append(f"| {labels[name]} | `{name}` | {h}×{w} | {ck.meta['macs'] / 1e6:.0f} | {cells} |")
    rows = comparison_rows(directory=directory) if rows is None else rows  # once: they unpack every card's bits
    contrast = pooling_contrast(directory) if contrast is None else contrast
    pairs = comparisons_markdown(directory=directory, rows=rows)
    return "\n\n".join([*at_a_glance(rows), "\n".join(lines), pairs, *_findings(rows, contrast, directory)])


def zoo_doc(directory=None, rows=None, contrast=None) -> str:
    """docs/zoo.md: the whole zoo (``results_table``) under a title that says where it comes from."""
    return (
        "# The bundled zoo\n\nGenerated from the model cards by `python -m rcm_demo.evaluate --readme` (do not "
        "edit by hand); accuracy in %, ± one binomial standard error, differences in points with 95% "
        "intervals, paired on the same test images.\n\n" + results_table(directory, rows, contrast) + "\n"
    )


README = Path(__file__).resolve().parents[2] / "README.md"


ZOO_DOC = README.parent / "docs" / "zoo.md"


POOLING_DOC = README.parent / "docs" / "pooling.md"  # the per-checkpoint table; the README has its medians
CLAIM_SVG = README.parent / "docs" / "claim.svg"  # the README's one figure


MARKS = {"zoo": ("<!-- zoo: generated by python -m rcm_demo.evaluate --readme -->", "<!-- zoo: end -->"),
         "pooling": (f"<!-- pooling: generated by python -m rcm_demo.evaluate --readme ({POOLING_N} bundled images; "
                     "--pooling re-measures every row) -->", "<!-- pooling: end -->"),
         "pooling_medians": ("<!-- pooling medians: generated by python -m rcm_demo.evaluate --readme from "
                             "docs/pooling.md -->", "<!-- pooling medians: end -->")}  # fmt: skip


def readme_section(text: str, key: str) -> str:
    """The generated section ``key`` of a README text (between its two markers)."""
    begin, end = MARKS[key]
    if begin not in text or end not in text:
        raise ValueError(f"the README lacks the markers of its {key} section: {begin} ... {end}")
    return text[text.index(begin) + len(begin) : text.index(end)].strip("\n")


def pooling_doc(table: str) -> str:
    """docs/pooling.md: the per-checkpoint pooling table (``pooling_table``) between its markers."""
    begin, end = MARKS["pooling"]
    return (
        "# Average vs max pooling, checkpoint by checkpoint\n\nGenerated by `python -m rcm_demo.evaluate "
        "--readme` (do not edit by hand): each checkpoint's own pre-pool maps under its own PGD-10 "
        f"perturbations at 8/255, on {POOLING_N} bundled images; each row names the sha256 prefix of the weights "
        "it was measured on. The README shows the medians per map size.\n\n" + f"{begin}\n{table}\n{end}\n"
    )


def pooling_medians(table: str) -> str:
    """The README's short form of the per-checkpoint pooling table: per map size the number of checkpoints
    and the medians of both ratios, then the summary sentence over every checkpoint (it grows with the zoo,
    the front page does not)."""
    rows = list(pooling_rows(table).values())
    lines = [
        "| map | checkpoints | ‖Δavg‖/‖ΔZ‖ (median) | bound 1/√(HW) | ‖Δmax‖/‖ΔZ‖ (median) |",
        "|---|---|---|---|---|",
    ]
    for (h, w), rs in by_map_size(rows).items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("ratio_avg", "ratio_max")}
        lines.append(
            f"| {h}×{w} | {len(rs)} | {med['ratio_avg']:.3f} | {rs[0]['bound_avg']:.3f} | {med['ratio_max']:.3f} |"
        )
    summary = pooling_summary(rows, lead=f"Over the {len(rows)} checkpoints of [docs/pooling.md](docs/pooling.md)")
    return "\n".join(lines) + "\n\n" + summary


def write_readme(
    path: Path, pooling: str = "", doc: Path | None = ZOO_DOC, pooling_path: Path = POOLING_DOC, claim: Path = CLAIM_SVG
) -> None:
    """The README's generated sections and, unless ``doc`` is None, the whole zoo in ``doc`` (docs/zoo.md) and
    the one figure in ``claim`` (docs/claim.svg).
    ``pooling``: "" leaves the per-checkpoint pooling table (``pooling_path``, docs/pooling.md) as it is,
    "refresh" measures only the rows of checkpoints that are new or whose weights changed (the rest are
    kept), "all" measures every row again; the README's medians are always written from that table."""
    rows, contrast = comparison_rows(), pooling_contrast()
    if doc is not None:
        Path(doc).write_text(zoo_doc(rows=rows, contrast=contrast))
        Path(claim).write_text(claim_figure(rows))
    text = Path(path).read_text()
    new = {"zoo": readme_zoo(rows=rows, contrast=contrast)}
    pooling_path = Path(pooling_path)
    if pooling:
        old = pooling_path.read_text() if pooling_path.exists() else ""
        keep = readme_section(old, "pooling") if pooling == "refresh" and old else ""
        pooling_path.write_text(pooling_doc(pooling_table(POOLING_N, keep=keep)))
    if pooling_path.exists():
        new["pooling_medians"] = pooling_medians(readme_section(pooling_path.read_text(), "pooling"))
    for key, body in new.items():
        old = readme_section(text, key)
        begin = MARKS[key][0]
        text = text.replace(begin + "\n" + old if old else begin, begin + "\n" + body, 1)
    Path(path).write_text(text)


def report(figure_path: str = "", directory=None) -> str:
    """The reproduction report, from the cards: for each enlarged model and its 4x4 baseline (same tier,
    pooling, recipe, seed), paired differences per metric with 95% intervals and what they say; parameters,
    MACs and a latency measured now on this machine (interleaved, one image, indicative); then the control,
    the four networks and the pairs trained another way (TRADES, the paper's width) beside their network."""
    rows = comparison_rows(directory=directory)
    if not rows:
        return "No enlarged/baseline pairs with metrics on the same images in the cards."
    lines = [
        "| enlarged | baseline | tier | params | MACs | latency (ms, this machine) | metric | Δ points [95% CI] "
        "| n | reading |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lat_cache: dict[tuple, dict] = {}
    for r in rows:
        a, b = get_checkpoint(r["a"], directory), get_checkpoint(r["b"], directory)
        key = (r["a"], r["b"])
        if key not in lat_cache:
            lat_cache[key] = latency_table({n: load_model(n, directory=directory) for n in key})
        lat = lat_cache[key]
        params = "equal" if a.meta["params"] == b.meta["params"] else f"{a.meta['params']:,} vs {b.meta['params']:,}"
        lines.append(
            f"| {r['enlarged']} | {r['baseline']} | {r['tier']} | {params} | ×{r['mac_ratio']:.2f} | "
            f"{lat[r['a']]['median_ms']:.1f} vs {lat[r['b']]['median_ms']:.1f} | {r['metric_label']} | "
            f"{interval_text(r)} | {r['n']} | "
            f"{verdict(r['lo'], r['hi'])} |"
        )
    if figure_path:
        paired_differences(rows).write_html(figure_path, include_plotlyjs=True)
    data = sorted({get_checkpoint(r["a"], directory).meta["metrics"][r["metric"]]["dataset"] for r in rows})
    four = "**The paper's four networks** (AT, average pooling, reference strides against the enlarged-map twin)"
    other = variants_finding(rows, variant_contrast(rows, directory))
    return (
        "\n".join(lines)
        + f"\n\n**The max-pooling control.** {control_finding(pooling_contrast(directory))}"
        + f"\n\n{four}:\n\n{architectures_markdown(rows)}\n\n{architectures_finding(rows)}"
        + (f"\n\n**Trained another way.** {other}" if other else "")
        + "\n\nData: "
        + "; ".join(data)
        + ". Differences are paired per test image."
    )


POOLING_HEAD = (
    "| checkpoint | map | ‖Δavg‖/‖ΔZ‖ | bound 1/√(HW) | ‖Δmax‖/‖ΔZ‖ | arg-max flip rate | weights (sha256) |\n"
    "|---|---|---|---|---|---|---|"
)


def pooling_rows(text: str) -> dict[str, dict]:
    """The rows of a pooling table written by ``pooling_table``, by checkpoint: the line itself, the
    weights' sha256 prefix it was measured on, and the numbers the summary reads."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        hw = re.fullmatch(r"(\d+)×(\d+)", cells[1]) if len(cells) == 7 else None
        if hw is None:
            continue  # the header, its rule, the summary, anything else
        h, w = int(hw[1]), int(hw[2])
        ratios = dict(zip(("ratio_avg", "bound_avg", "ratio_max"), map(float, cells[2:5])))
        out[cells[0]] = {"line": line.strip(), "sha": cells[6].strip("`"), "H": h, "W": w, **ratios}
    return out


def pooling_table(n: int, seed: int = 0, keep: str = "") -> str:
    """Avg vs max pooling of each checkpoint's own pre-pool maps under its own PGD-10 perturbations, one
    row per checkpoint stamped with its weights' sha256 prefix. Rows of ``keep`` (an earlier table)
    measured on the same weights are reused; the others are measured now. The summary reads the
    table's own (rounded) numbers, so it does not depend on which rows were reused."""
    old = pooling_rows(keep)
    s = load_sample()
    idx = fixed_subset(len(s), n, seed)
    lines = []
    for name in list_checkpoints():
        sha = get_checkpoint(name).meta["sha256"][:12]
        if name in old and old[name]["sha"] == sha:
            lines.append(old[name]["line"])
            continue
        r = zoo_pooling({name: load_model(name)}, s.float(idx), s.y[idx])[0]
        lines.append(
            f"| {name} | {r['H']}×{r['W']} | {r['ratio_avg']:.3f} | {r['bound_avg']:.3f} | "
            f"{r['ratio_max']:.3f} | {100 * r['argmax_flip_rate']:.0f}% | `{sha}` |"
        )
    table = POOLING_HEAD + "\n" + "\n".join(lines)
    return table + "\n\n" + pooling_summary(list(pooling_rows(table).values()))
