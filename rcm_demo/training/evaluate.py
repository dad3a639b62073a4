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
import shlex
import sys
from pathlib import Path

import torch

from .. import attacks as A
from .. import hardware as H
from ..analysis.metrics import robust_correct
from ..attacks.evaluation import EVAL_ATTACKS, EvalSetting
from ..data import fixed_subset, load_cifar10, load_sample
from ..progress import Progress, clock
from ..zoo import (
    CheckpointError,
    get_checkpoint,
    load_model,
    scan_checkpoints,
    write_card,
)
from ..zoo.intervals import binomial_se, pack_bits
from .report import POOLING_N, README, markdown, pooling_table, report, results_table, write_readme


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
    directory = Path(args.dir) if args.dir else None
    if args.table:
        print(results_table(directory))
        return
    if args.report:
        print(report(args.report_figure, directory))
        return
    if args.pooling:
        print(pooling_table(min(args.n, 500), args.seed))
        return
    if args.threads:
        torch.set_num_threads(args.threads)
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
                [meta.get("sha256"), subset, settings, args.seed, args.batch_size, H.arithmetic(H.model_device(model))]
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
                "device": str(H.model_device(model)),
                # bf16 where hardware.cpu_fast_bf16: PGD-20 on 500 images differed from fp32 on 1 (docs/decisions.md)
                "arithmetic": H.arithmetic(H.model_device(model)),
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


if __name__ == "__main__":
    main()
