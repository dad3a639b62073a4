"""Evaluate zoo checkpoints and write the results into their model cards.

    python -m rcm_demo.evaluate --data-dir ../shared/data/cifar10-jpeg --n 1000 --aa-n 500
    python -m rcm_demo.evaluate --checkpoints resnet18w16_s1222_x1_avg.at --attacks clean,pgd20
    python -m rcm_demo.evaluate --table          # markdown table from the cards, nothing is run

Attacks (L-inf 8/255 unless said): clean, fgsm, pgd20 (step 2/255, random start), cw30 (PGD-30 on
the margin loss, step 0.8/255), l2 (PGD-20, eps 0.5, step 0.1), autoattack (pyautoattack; standard
ensemble or the subset in --aa-attacks). Images are a fixed seeded subset of the test split (the same
for every checkpoint), or the bundled 500-image sample when no data set is given. Each metric on a
card records value, n, standard error, data set, attack settings, command and per-image
correctness bits (so two models can be compared on the same images).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import re
import shlex
import statistics
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from . import attacks as A
from .control import control_finding, pooling_contrast
from .data import fixed_subset, load_cifar10, load_sample
from .lab import zoo_pooling
from .lesson import by_map_size, pooling_summary
from .metrics import binomial_se, latency_table, pack_bits, robust_correct
from .progress import Progress, clock
from .viz import paired_differences
from .zoo import (
    CheckpointError,
    display_labels,
    get_checkpoint,
    list_checkpoints,
    load_model,
    scan_checkpoints,
    write_card,
)
from .zoo_plan import plan_summary
from .zoo_table import (
    architectures_finding,
    architectures_markdown,
    budget_text,
    comparison_rows,
    comparisons_markdown,
    finding,
    interval_text,
    metric_cell,
    verdict,
)

EPS = 8 / 255
POOLING_N = 64  # bundled images behind the README's pooling table


@dataclass(frozen=True)
class EvalSetting:
    """One column of the cards: a registry attack (``None`` = clean images) at fixed settings."""

    key: str
    label: str
    attack: str | None = None
    eps: float = EPS
    steps: int | None = None
    alpha: float | None = None

    def entry(self, aa_attacks="standard") -> A.Attack:
        entry = A.get_attack(self.attack)
        if self.attack == "AutoAttack" and aa_attacks != "standard":
            entry = replace(entry, bound={**entry.bound, "attacks": tuple(aa_attacks)})
        return entry

    def run(self, model, x, y, aa_attacks, generator):
        if self.attack is None:
            return x
        return self.entry(aa_attacks)(
            model, x, y, eps=self.eps, steps=self.steps, alpha=self.alpha, generator=generator
        )

    def card_settings(self, aa_attacks="standard") -> dict:
        if self.attack is None:
            return {}
        out = self.entry(aa_attacks).settings(self.eps, self.steps, self.alpha)
        if self.attack == "AutoAttack":
            out["attacks"] = list(A.AA_ATTACKS if aa_attacks == "standard" else aa_attacks)
            out["package"] = "pyautoattack 0.2.0 (version='standard' settings)"
        return out


# The reference code's evaluation: PGD-20 (step 2/255), CW-L∞ (30 steps, step 0.8/255), AutoAttack.
EVAL_ATTACKS = {
    a.key: a
    for a in (
        EvalSetting("clean", "Clean"),
        EvalSetting("fgsm", "FGSM", "FGSM"),
        EvalSetting("pgd20", "PGD-20", "PGD-L∞", steps=20, alpha=2 / 255),
        EvalSetting("cw30", "CW-L∞ (PGD-30, margin)", "CW-L∞", steps=30, alpha=0.8 / 255),
        EvalSetting("l2", "PGD-20 L2", "PGD-L2", eps=0.5, steps=20, alpha=0.1),
        EvalSetting("autoattack", "AutoAttack", "AutoAttack"),
    )
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m rcm_demo.evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checkpoints", default="all", help="comma-separated names, or 'all'")
    p.add_argument("--attacks", default=",".join(EVAL_ATTACKS), help=f"comma-separated from {list(EVAL_ATTACKS)}")
    p.add_argument("--aa-attacks", default="standard", help=f"'standard' or a comma-separated subset of {A.AA_ATTACKS}")
    p.add_argument("--n", type=int, default=1000, help="test images for every attack but AutoAttack")
    p.add_argument("--aa-n", type=int, default=500, help="test images for AutoAttack (first of the same subset)")
    p.add_argument("--seed", type=int, default=0, help="seed of the test subset and the attacks")
    p.add_argument("--data-dir", default="", help="ImageFolder with test/<class>/*")
    p.add_argument("--data-root", default="", help="torchvision CIFAR-10 root")
    p.add_argument("--download", action="store_true")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--csv", default="", help="also write the results here")
    p.add_argument("--no-update-cards", action="store_true")
    p.add_argument(
        "--resume-dir",
        default="",
        help="save each metric's progress after every batch in <dir>/<checkpoint>/eval-<metric>.pt and continue "
        "a cut-off run from it (build_zoo passes its --run-dir)",
    )
    p.add_argument("--dir", default="", help="checkpoint directory (default: pretrained/)")
    p.add_argument("--table", action="store_true", help="print the markdown table from the cards and exit")
    p.add_argument(
        "--readme",
        action="store_true",
        help="rewrite the README's zoo section and docs/zoo.md from the cards, measure the pooling table's "
        f"rows of new or retrained checkpoints ({POOLING_N} bundled images; with --pooling every row) and exit",
    )
    p.add_argument(
        "--report",
        action="store_true",
        help="print the reproduction report from the cards (paired "
        "differences with 95%% intervals, params, MACs, measured latency) and exit",
    )
    p.add_argument("--report-figure", default="", help="with --report: also write the differences figure here (HTML)")
    p.add_argument(
        "--pooling",
        action="store_true",
        help="print avg-vs-max pooling ratios of every checkpoint "
        "(PGD-10, 8/255, on --n images of the bundled sample) and exit",
    )
    return p.parse_args(argv)


def evaluate_model(
    model, x, y, attack: EvalSetting, aa_attacks, seed, batch_size, label="", partial: Path | None = None, tag=""
):
    """Per-image correctness under ``attack``, batch by batch with one seeded generator. With ``partial``
    (a file path) the bits so far, the generator's state and the seconds spent are saved after every
    batch, and a run cut off part-way continues from there when ``tag`` (what was measured: checkpoint
    weights, images, settings) is the same, with the same numbers an uncut run gives. Returns
    (correct, seconds), the seconds counting every part of a resumed run."""
    g = torch.Generator().manual_seed(seed)
    parts, spent = [], 0.0
    saved = _read_partial(partial, tag) if partial else None
    if saved:
        parts, spent = [saved["correct"]], saved["seconds"]
        g.set_state(saved["rng"])
        print(f"{label} {attack.label}: resumed after {len(saved['correct'])} of {len(y)} images", file=sys.stderr)
    start, t0 = sum(len(c) for c in parts), clock().now()  # the run clock leaves out time the process was stopped
    bar = Progress(len(y), f"{label} {attack.label}", start=start)
    for i in range(start, len(y), batch_size):
        xb, yb = x[i : i + batch_size], y[i : i + batch_size]
        parts.append(
            robust_correct(model, xb, yb, lambda m, a, b: attack.run(m, a, b, aa_attacks, g), len(yb), bar.update)
        )
        if partial and i + batch_size < len(y):
            _write_partial(partial, tag, torch.cat(parts), g, spent + clock().now() - t0)
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.bool), spent + clock().now() - t0


def partial_path(run_dir, name: str, key: str) -> Path:
    """Where a metric cut off part-way keeps its bits: ``<run_dir>/<name>/eval-<key>.pt`` (beside a model's
    training resume state, so it travels with the repository the same way)."""
    return Path(run_dir) / name / f"eval-{key}.pt"


def _write_partial(path: Path, tag: str, correct, g, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"tag": tag, "correct": correct, "rng": g.get_state(), "seconds": seconds}, tmp)
    tmp.replace(path)  # a cut in the middle of a write leaves the previous batch's state


def _read_partial(path: Path, tag: str):
    """The saved state when it measured the same thing, else None (with a line saying why it is not used)."""
    if not path.exists():
        return None
    try:
        saved = torch.load(path, weights_only=True)
        ok = saved["tag"] == tag and saved["correct"].dtype == torch.bool
    except Exception as e:  # a truncated or foreign file: measure again rather than fail the build
        print(f"ignoring {path}: unreadable ({type(e).__name__})", file=sys.stderr)
        return None
    if not ok:
        print(f"ignoring {path}: it measured other weights, images or settings", file=sys.stderr)
        return None
    return saved


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.readme:
        write_readme(README, pooling="all" if args.pooling else "refresh")
        return
    if args.table:
        print(results_table())
        return
    if args.report:
        print(report(args.report_figure))
        return
    if args.pooling:
        print(pooling_table(min(args.n, 500), args.seed))
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    directory = Path(args.dir) if args.dir else None
    if args.checkpoints == "all":
        names, problems = scan_checkpoints(directory)
        for name, why in problems.items():
            print(f"skipping unusable card {name}: {why}", file=sys.stderr)
    else:
        names = args.checkpoints.split(",")
    keys = args.attacks.split(",")
    bad = [k for k in keys if k not in EVAL_ATTACKS]
    if bad:
        raise SystemExit(f"unknown attack(s) {bad}; choose from {list(EVAL_ATTACKS)}")
    aa_attacks = "standard" if args.aa_attacks == "standard" else tuple(args.aa_attacks.split(","))
    if args.data_dir or args.data_root:
        test = load_cifar10("test", args.data_dir, args.data_root, args.download)
    else:
        test = load_sample()
        print("no --data-dir/--data-root: using the bundled 500-image sample", file=sys.stderr)
    idx = fixed_subset(len(test), min(args.n, len(test)), args.seed)
    x, y = test.float(idx), test.y[idx]
    command = "python -m rcm_demo.evaluate " + " ".join(shlex.quote(a) for a in argv)
    rows = []
    for name in names:
        try:
            model = load_model(name, directory=directory)
            ck = get_checkpoint(name, directory)
        except CheckpointError as e:
            print(f"skipping: {e}", file=sys.stderr)
            continue
        meta = ck.meta
        row = {"checkpoint": name}
        for key in keys:
            att = EVAL_ATTACKS[key]
            n = min(args.aa_n, len(y)) if key == "autoattack" else len(y)
            settings = att.card_settings(aa_attacks)
            subset = hashlib.sha256(idx[:n].numpy().tobytes()).hexdigest()
            partial = partial_path(args.resume_dir, name, key) if args.resume_dir else None
            tag = json.dumps(
                [meta.get("sha256"), subset, settings, args.seed, args.batch_size, A.arithmetic(A.model_device(model))]
            )
            correct, took = evaluate_model(
                model, x[:n], y[:n], att, aa_attacks, args.seed, args.batch_size, name, partial, tag
            )
            acc = correct.float().mean().item()
            meta.setdefault("metrics", {})[key] = {
                "value": round(acc, 4),
                "n": n,
                "se": round(binomial_se(acc, n), 4),
                "dataset": test.source,
                "subset_seed": args.seed,
                "attack": settings,
                "subset_sha256": subset,
                "seconds": round(took, 1),
                "device": str(A.model_device(model)),
                # bf16 on AMX CPUs: PGD-20 on 500 images differed from fp32 on 1 (docs/decisions.md)
                "arithmetic": A.arithmetic(A.model_device(model)),
                "torch": torch.__version__,
                "date": datetime.date.today().isoformat(),
                "command": command,
                "correct_bits": pack_bits(correct),
            }
            row[key] = acc
            print(f"{name}: {att.label} {acc:.2%} (n={n}, {took:.0f} s)", file=sys.stderr)
            if not args.no_update_cards:
                write_card(ck.card, meta)
            if partial:
                partial.unlink(missing_ok=True)  # the card holds the metric now
        rows.append(row)
    print(markdown(rows, keys))
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["checkpoint", *keys])
            w.writeheader()
            w.writerows(rows)


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


def _findings(rows, contrast) -> list[str]:
    """The main pair's finding, the max-pooling control (``contrast``: ``pooling_contrast`` rows) and the four
    networks side by side (README section and docs/zoo.md)."""
    control = control_finding(contrast)
    return [finding(rows), control, FOUR, architectures_markdown(rows), architectures_finding(rows)]


def readme_zoo(directory=None, rows=None, contrast=None) -> str:
    """The README's zoo section, generated from the cards and kept short (the README is a front page): the
    plan's state and budgets, the finding on the main pair, the four networks side by side, and where
    every checkpoint and pair is (``zoo_doc``, docs/zoo.md). ``rows`` / ``contrast``: ``comparison_rows`` /
    ``pooling_contrast`` when the caller has them already (they unpack cards' bits)."""
    rows = comparison_rows(directory=directory) if rows is None else rows
    contrast = pooling_contrast(directory) if contrast is None else contrast
    return "\n\n".join(
        [
            "\n".join(_budget_lines(list_checkpoints(directory), directory)),
            *_findings(rows, contrast),
            "Every checkpoint with its metrics, and every enlarged/baseline pair with its paired differences: "
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
    return "\n\n".join(["\n".join(lines), pairs, *_findings(rows, contrast)])


def zoo_doc(directory=None, rows=None, contrast=None) -> str:
    """docs/zoo.md: the whole zoo (``results_table``) under a title that says where it comes from."""
    return (
        "# The bundled zoo\n\nGenerated from the model cards by `python -m rcm_demo.evaluate --readme` (do not "
        "edit by hand); accuracy in %, ± one binomial standard error, differences in points with 95% "
        "intervals, paired on the same test images.\n\n" + results_table(directory, rows, contrast) + "\n"
    )


README = Path(__file__).resolve().parent.parent / "README.md"
ZOO_DOC = README.parent / "docs" / "zoo.md"
POOLING_DOC = README.parent / "docs" / "pooling.md"  # the per-checkpoint table; the README has its medians
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


def write_readme(path: Path, pooling: str = "", doc: Path | None = ZOO_DOC, pooling_path: Path = POOLING_DOC) -> None:
    """The README's generated sections and, unless ``doc`` is None, the whole zoo in ``doc`` (docs/zoo.md).
    ``pooling``: "" leaves the per-checkpoint pooling table (``pooling_path``, docs/pooling.md) as it is,
    "refresh" measures only the rows of checkpoints that are new or whose weights changed (the rest are
    kept), "all" measures every row again; the README's medians are always written from that table."""
    rows, contrast = comparison_rows(), pooling_contrast()
    if doc is not None:
        Path(doc).write_text(zoo_doc(rows=rows, contrast=contrast))
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


def report(figure_path: str = "") -> str:
    """The reproduction report, from the cards: for each enlarged model and its 4x4 baseline (same tier,
    pooling, recipe, seed), paired differences per metric with 95% intervals and what they say; parameters,
    MACs and a latency measured now on this machine (interleaved, one image, indicative)."""
    rows = comparison_rows()
    if not rows:
        return "No enlarged/baseline pairs with metrics on the same images in the cards."
    lines = [
        "| enlarged | baseline | tier | params | MACs | latency (ms, this machine) | metric | Δ points [95% CI] "
        "| n | reading |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lat_cache: dict[tuple, dict] = {}
    for r in rows:
        a, b = get_checkpoint(r["a"]), get_checkpoint(r["b"])
        key = (r["a"], r["b"])
        if key not in lat_cache:
            lat_cache[key] = latency_table({r["a"]: load_model(r["a"]), r["b"]: load_model(r["b"])})
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
    data = sorted({get_checkpoint(r["a"]).meta["metrics"][r["metric"]]["dataset"] for r in rows})
    four = "**The paper's four networks** (AT, average pooling, reference strides against the enlarged-map twin)"
    return (
        "\n".join(lines)
        + f"\n\n**The max-pooling control.** {control_finding(pooling_contrast())}"
        + f"\n\n{four}:\n\n{architectures_markdown(rows)}\n\n{architectures_finding(rows)}"
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


if __name__ == "__main__":
    main()
