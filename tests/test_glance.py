"""The answer at a glance is generated from the cards: the headline names the strongest attack that
resolves, says "not resolved" where an interval covers 0, and changes when the cards change; the figure has
one row per network variant, seed means only, in the paper's order."""

import torch
from test_findings import _control_zoo, _save, _zoo

from rcm_demo import viz
from rcm_demo.zoo import glance, tables


def _rows(d):
    return tables.comparison_rows(directory=d)


def test_headline_follows_the_cards_and_says_not_resolved_honestly(tmp_path):
    _control_zoo(tmp_path, avg_gain=0.25, max_gain=0.0)
    rows = _rows(tmp_path)
    gain = glance.headline(rows)
    # The same cards with the average-pooling interval across 0 (as a card rewritten by a new evaluation).
    unresolved = [{**r, "diff": 0.004, "lo": -0.02, "hi": 0.03} if r["pool"] == "avg" else r for r in rows]
    none = glance.headline(unresolved)
    assert gain[0].startswith("**Average pooling:** enlarging ResNet18's final map 4×4 → 8×8 adds +")
    assert "points of PGD-20 accuracy [" in gain[0] and "(seed 0, 400 test images)" in gain[0]
    assert gain[1].startswith("**Max pooling:** the same enlargement changes PGD-20 accuracy by ")
    assert gain[1].endswith("not resolved (seed 0).") and "no effect" not in " ".join(gain + none)
    assert none[0].endswith(
        "changes PGD-20 accuracy by +0.4 points [-2.0, +3.0]: not resolved (seed 0, 400 test images)."
    )
    assert none != gain  # a change of the cards changes the sentence
    assert all(len(s.replace("**", "").split()) <= 32 for s in gain + none)  # ~30 words per question


def test_headline_takes_the_strongest_attack_that_resolves(tmp_path):
    _zoo(tmp_path, gain_robust=0.25)
    rows = _rows(tmp_path)
    assert glance.headline_metric(rows) == "pgd20"
    for r in rows:  # a CW-30 column that does not resolve, and an AutoAttack one that does
        if r["metric"] == "pgd20":
            cw = {**r, "metric": "cw30", "metric_label": "CW-30", "lo": -0.01, "hi": 0.03}
            aa = {**r, "metric": "autoattack", "metric_label": "AutoAttack", "n": 100, "lo": 0.02, "hi": 0.2}
    rows += [cw, aa]
    assert glance.headline_metric(rows) == "autoattack"
    rows = [r for r in rows if r["metric"] != "autoattack"] + [{**aa, "lo": -0.1}]
    assert glance.headline_metric(rows) == "pgd20"  # the stronger attacks measured do not resolve
    note = glance.headline_note(rows)
    assert note.startswith("PGD-20: the strongest attack whose interval excludes 0")
    assert "AutoAttack: not resolved on 100 images" in note and "CW-30: not resolved" in note
    assert glance.headline_metric([]) is None and "does not answer" in glance.headline([])[0]


def test_claim_rows_one_per_pair_seed_means_in_the_papers_order(tmp_path):
    _zoo(tmp_path, gain_robust=0.1, seeds=(0, 1, 2))
    g = torch.Generator().manual_seed(3)
    for pool in ("max",):
        _save(tmp_path, "1222", 0, 0.60, 0.35, g, pool=pool)
        _save(tmp_path, "1122", 0, 0.62, 0.35, g, pool=pool)
    _save(tmp_path, "2222", 0, 0.4, 0.2, g, arch="alexnet")
    _save(tmp_path, "1122", 0, 0.4, 0.3, g, arch="alexnet")
    rows = _rows(tmp_path)
    assert len([r for r in rows if r["metric"] == "pgd20"]) == 3 + 1 + 1 + 1  # 3 seeds + mean, max, alexnet
    means = glance.pair_means(rows)
    assert len([r for r in means if r["metric"] == "pgd20"]) == 3  # one row per pair
    claim = glance.claim_rows(rows, "pgd20")
    assert [(r["network"], r["variant"]) for r in claim] == [
        ("ResNet18", ""),
        ("ResNet18", "max pooling"),
        ("AlexNet", ""),
    ]
    assert claim[0]["detail"].endswith("mean of 3 seeds") and claim[1]["detail"].endswith("seed 0")
    svg = viz.claim_svg_text(claim, "PGD-20")
    assert svg.startswith("<svg") and svg.count('font-size="20"') == 3 and "ResNet18 · max pooling" in svg
    assert "n.r." in svg  # the max-pooling row's interval covers 0: hollow and said so
    assert "max pooling</text>" in svg and "TRADES" not in svg  # the legend names only what is drawn
    assert viz.claim_svg(claim, "PGD-20").startswith('<img src="data:image/svg+xml;base64,')


def _save_as(d, strides, clean_p, robust_p, g, recipe="at", tier="lite", width=2):
    """A synthetic card of the main ResNet18 pair trained another way (TRADES) or at another width/tier."""
    import math

    from test_findings import CFG, N

    from rcm_demo import zoo
    from rcm_demo.zoo import ModelSpec, intervals

    def metric(correct):
        acc = correct.float().mean().item()
        return {"value": acc, "n": N, "se": math.sqrt(acc * (1 - acc) / N), "dataset": "synthetic",
                "subset_sha256": "same-images", "correct_bits": intervals.pack_bits(correct)}  # fmt: skip

    spec = ModelSpec(width=width, strides=strides)
    info = {"command": "t", "seed": 0, "epochs": 15, "config": {**CFG, "width": width}}
    ck = zoo.save_checkpoint(spec.build().eval(), spec, recipe, info, d, tier=tier)
    meta = ck.meta | {"metrics": {"clean": metric(torch.rand(N, generator=g) < clean_p),
                                  "pgd20": metric(torch.rand(N, generator=g) < robust_p)}}  # fmt: skip
    zoo.write_card(ck.card, meta)


def test_trades_and_width_64_pairs_stand_beside_their_network(tmp_path, capsys):
    from rcm_demo.zoo import variants

    # The main pair (width 2 stands in for 16): no robust gain; three seeds and their mean, as in the real zoo.
    _zoo(tmp_path, gain_robust=0.0, seeds=(0, 1, 2))
    g = torch.Generator().manual_seed(7)
    _save_as(tmp_path, "1222", 0.6, 0.30, g, recipe="trades")
    _save_as(tmp_path, "1122", 0.6, 0.30, g, recipe="trades")  # TRADES: nothing either
    _save_as(tmp_path, "1222", 0.7, 0.30, g, tier="paper-width", width=4)
    _save_as(tmp_path, "1122", 0.7, 0.60, g, tier="paper-width", width=4)  # the wide pair: a large gain
    rows = _rows(tmp_path)
    assert [v["title"] for v in tables.variant_rows(rows)] == [
        "ResNet18 · TRADES",
        "ResNet18 · width 64 (paper-width tier)",
    ]
    table = tables.architectures_markdown(rows)
    lines = [line for line in table.splitlines() if line.startswith("| ResNet18")]
    assert [line.split(" | ")[0] for line in lines] == [
        "| ResNet18",
        "| ResNet18 · TRADES",
        "| ResNet18 · width 64 (paper-width tier)",
    ]
    contrast = variants.variant_contrast(rows, tmp_path)
    wide = {c["metric"]: c for c in contrast if c["variant"] == ("paper-width", "at")}
    assert wide["pgd20"]["lo"] > 0  # the enlargement buys more at the wider width, per image on the same images
    text = variants.variants_finding(rows, contrast)
    assert "The ResNet18 pair with TRADES" in text and "The ResNet18 pair at the paper's width (64" in text
    assert "PGD-20" in text and "buys more here" in text and "not resolved" in text
    claim = glance.claim_rows(rows, "pgd20")
    assert [(r["variant"], r["recipe"]) for r in claim] == [("", "at"), ("width 64", "at"), ("TRADES", "trades")]
    assert claim[1]["detail"] == "4×4 → 8×8, paper-width tier, seed 0" and "tier" not in claim[0]["detail"]
    assert "TRADES" in viz.claim_svg_text(claim, "PGD-20") and "<polygon" in viz.claim_svg_text(claim, "PGD-20")

    from rcm_demo.training import evaluate

    evaluate.main(["--report", "--dir", str(tmp_path)])  # the report reads these cards, not the bundled zoo
    out = capsys.readouterr().out
    assert "| ResNet18 · TRADES |" in out and "| ResNet18 · width 64 (paper-width tier) |" in out
    assert f"**Trained another way.** {text}" in out
