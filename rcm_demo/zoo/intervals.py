"""Per-image bits on the cards and the intervals built on them: binomial standard errors, paired
differences of two checkpoints on the same images, seed means (Student's t), and the words a 95% interval
earns ("gain", "loss", "not resolved")."""

from __future__ import annotations

import math

import torch

from .checkpoints import get_checkpoint


def pack_bits(correct: torch.Tensor) -> str:
    """Per-image correctness packed as hex (4 images per digit, in subset order), for model cards."""
    b = correct.to(torch.uint8).tolist()
    b += [0] * (-len(b) % 4)
    return "".join(f"{b[i] * 8 + b[i + 1] * 4 + b[i + 2] * 2 + b[i + 3]:x}" for i in range(0, len(b), 4))


def unpack_bits(hexstr: str, n: int) -> torch.Tensor:
    bits = [int(c, 16) >> s & 1 for c in hexstr for s in (3, 2, 1, 0)]
    return torch.tensor(bits[:n], dtype=torch.bool)


def binomial_se(p: float, n: int) -> float:
    """Standard error of an accuracy measured on n images (in the same unit as p)."""
    return math.sqrt(max(p * (1 - p), 0.0) / n) if n else float("nan")


Z95 = 1.96


def paired_difference(a: str, b: str, metric: str, directory=None, cks: dict | None = None) -> dict | None:
    """Accuracy of ``a`` minus ``b`` on the same images (from the cards' correctness bits), with the
    standard error of the paired difference and a 95% interval. None when either card lacks the metric
    or the two were measured on different images. ``cks``: the cards already read (``read_checkpoints``)."""
    cks = cks or {}
    ma, mb = ((cks.get(n) or get_checkpoint(n, directory)).meta.get("metrics", {}).get(metric) for n in (a, b))
    if (
        not ma
        or not mb
        or ma["n"] != mb["n"]
        or "subset_sha256" not in ma
        or ma["subset_sha256"] != mb.get("subset_sha256")
        or ma["dataset"] != mb["dataset"]
    ):
        return None
    n = ma["n"]
    d = unpack_bits(ma["correct_bits"], n).float() - unpack_bits(mb["correct_bits"], n).float()
    return {"a": a, "b": b, "metric": metric, "n": n, **mean_interval(d), "per_image": d}


def mean_interval(d) -> dict:
    """The mean of per-image differences ``d`` with its standard error and 95% interval."""
    n, diff = len(d), d.mean().item()
    se = (d.std(unbiased=True) / n**0.5).item() if n > 1 else float("nan")
    return {"diff": diff, "se": se, "lo": diff - Z95 * se, "hi": diff + Z95 * se}


# Two-sided 95% quantiles of Student's t by degrees of freedom (seeds - 1).
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def seed_means(rows: list[dict]) -> list[dict]:
    """For each pair and metric measured with k >= 2 seeds (same images): the mean of the seeds' paired
    differences with a 95% interval that holds both sources of variation, added in quadrature: the spread
    between seeds (Student's t over the k seed differences) and the sampling of test images (the paired
    per-image differences averaged over the seeds)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        if "per_image" in r and not r.get("seed_mean"):
            groups.setdefault((r["pair"], r["metric"]), []).append(r)
    out = []
    for group in groups.values():
        if len({r["seed"] for r in group}) < 2 or len({r["n"] for r in group}) != 1:
            continue
        k, n = len(group), group[0]["n"]
        diffs = [r["diff"] for r in group]
        mean = sum(diffs) / k
        sd_seed = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (k - 1))
        per_image = sum(r["per_image"] for r in group) / k
        se_img = (per_image.std(unbiased=True) / n**0.5).item() if n > 1 else 0.0
        half = math.hypot(T95.get(k - 1, Z95) * sd_seed / math.sqrt(k), Z95 * se_img)
        first = min(group, key=lambda r: r["seed"])
        label = first["enlarged"].replace(f" · seed {first['seed']}", "") if first["seed"] else first["enlarged"]
        out.append(
            {
                **{key: first[key] for key in ("metric", "n", "pool", "recipe", "tier", "budget", "pair")},
                **{key: first[key] for key in ("metric_label", "mac_ratio", "arch", "strides", "scale", "map")},
                "a": first["a"],
                "b": first["b"],
                "enlarged": f"{label} · mean of {k} seeds",
                "baseline": first["baseline"],
                "seed_mean": True,
                "seeds": sorted(r["seed"] for r in group),
                "per_seed": diffs,
                "diff": mean,
                "se": half / Z95,
                "lo": mean - half,
                "hi": mean + half,
                "sd_seed": sd_seed,
                "se_image": se_img,
            }
        )
    return out


def row_seeds(r: dict) -> list[int]:
    """The seeds a difference row stands on."""
    return list(r["seeds"]) if r.get("seed_mean") else [r["seed"]]


def _seeds_note(r: dict, seeds: list[int]) -> str:
    """' (seeds 0, 1)' where a row stands on other seeds than the ones its sentence or table row names."""
    own = row_seeds(r)
    return "" if own == seeds else f" (seed{'s' if len(own) > 1 else ''} {', '.join(map(str, own))})"


def verdict(lo: float, hi: float) -> str:
    """What a 95% interval of an enlarged-minus-baseline difference says."""
    if lo == hi == 0:
        return "identical on every image"
    if lo > 0:
        return "gain (interval above 0)"
    if hi < 0:
        return "loss (interval below 0)"
    return "not resolved (interval contains 0)"


def resolved_sides(rows: list[dict]) -> tuple[list[dict], list[str], list[str]]:
    """The robust rows (every metric but clean) and the labels of those whose interval lies above 0 and
    below 0: what a finding's verdict is built from."""
    robust = [r for r in rows if r["metric"] != "clean"]
    above = [r["metric_label"] for r in robust if r["lo"] > 0]
    return robust, above, [r["metric_label"] for r in robust if r["hi"] < 0]


def points_text(v: float) -> str:
    """A difference in points to one decimal, or two where one would round a non-zero bound to ±0.0 (and
    hide on which side of 0 an interval ends)."""
    return f"{100 * v:+.1f}" if round(100 * v, 1) != 0 or v == 0 else f"{100 * v:+.2f}"


def interval_text(r, unit: str = "") -> str:
    """'+0.6 [-0.2, +1.4]' (``unit`` " points": '+0.6 points [-0.2, +1.4]'): a difference and its 95%
    interval, in points."""
    return f"{points_text(r['diff'])}{unit} [{points_text(r['lo'])}, {points_text(r['hi'])}]"
