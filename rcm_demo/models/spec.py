"""``ModelSpec``: the architecture knobs of one model, validated on construction, with its derived name.

    ModelSpec(arch="resnet18", strides="1122").build()   # a random-init model
    ModelSpec.from_name("resnet18w16_s1122_x1_avg")      # parsed back by the same rules

Each knob has one rule (``KNOB_RULES``); the stride digits follow the architecture's own rule
(``models.ARCHS[arch].STRIDE_RULE``), and its baseline is the architecture's reference default
(``BASELINE``: "1222" for the ResNets, "22222" for VGG16, "2222" for AlexNet).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields

from torch import nn

from .base import ARCHS, MODES, POOLS

# One rule per knob, stated once: (test, what a legal value looks like). Strides: the architecture's rule.
KNOB_RULES = {
    "arch": (lambda v: v in ARCHS, lambda: f"one of {sorted(ARCHS)}"),
    "width": (lambda v: isinstance(v, int) and 1 <= v <= 512, lambda: "an integer in 1..512"),
    "scale": (lambda v: v in (1, 2, 3, 4), lambda: "1, 2, 3 or 4"),
    "mode": (lambda v: v in MODES, lambda: f"one of {MODES}"),
    "pool": (lambda v: v in POOLS, lambda: f"one of {POOLS}"),
}
_NAME_RE = re.compile(
    r"^(?P<arch>[a-z0-9_]+?)w(?P<width>\d+)_s(?P<strides>[^_]+)_x(?P<scale>\d+)(?P<mode>[a-z]*)"
    r"_(?P<pool>[a-z]+)$"
)


@dataclass(frozen=True)
class ModelSpec:
    """The architecture knobs. Build every model from one of these, by keyword."""

    arch: str = "resnet18"
    width: int = 16  # base channels (the paper: 64)
    strides: str = ""  # the architecture's stride digits; "" = its reference default (ARCHS[arch].BASELINE)
    scale: int = 1  # input upsampling inside the model; 2 gives an 8x8 final map
    mode: str = "nearest"  # upsampling interpolation
    pool: str = "avg"  # global pooling before the head

    def __post_init__(self):
        for knob, (ok, legal) in KNOB_RULES.items():
            if not ok(getattr(self, knob)):
                raise ValueError(f"{knob} must be {legal()}, got {getattr(self, knob)!r}")
        cls = ARCHS[self.arch]
        if self.strides == "":
            object.__setattr__(self, "strides", cls.BASELINE)
        if not cls.strides_ok(self.strides):
            raise ValueError(f"strides for {self.arch} must be {cls.STRIDE_RULE}, got {self.strides!r}")

    @property
    def name(self) -> str:
        mode = "" if self.scale == 1 or self.mode == "nearest" else self.mode
        return f"{self.arch}w{self.width}_s{self.strides}_x{self.scale}{mode}_{self.pool}"

    @classmethod
    def from_name(cls, name: str) -> ModelSpec:
        """Inverse of ``name``; raises ValueError with the rule that a bad name breaks."""
        m = _NAME_RE.match(name)
        if not m:
            raise ValueError(f"{name!r} is not a model name like 'resnet18w16_s1222_x1_avg'")
        d = m.groupdict()
        spec = cls(
            arch=d["arch"],
            width=int(d["width"]),
            strides=d["strides"],
            scale=int(d["scale"]),
            mode=d["mode"] or "nearest",
            pool=d["pool"],
        )
        if spec.name != name:
            raise ValueError(f"{name!r} is not in canonical form; it would be {spec.name!r}")
        return spec

    @property
    def baseline_strides(self) -> str:
        return ARCHS[self.arch].BASELINE

    @property
    def is_baseline(self) -> bool:
        """The architecture's reference default map: its own strides, no upsampling."""
        return self.strides == self.baseline_strides and self.scale == 1

    @property
    def change(self) -> str:
        """How this spec enlarges the final map relative to its baseline, in words."""
        parts = []
        if self.strides != self.baseline_strides:
            parts.append(f"strides {self.strides}")
        if self.scale != 1:
            parts.append(f"upsample ×{self.scale}" + ("" if self.mode == "nearest" else f" {self.mode}"))
        return " + ".join(parts) or "baseline"

    def build(self) -> nn.Module:
        """A random-init model."""
        return ARCHS[self.arch](
            width=self.width, strides=self.strides, scale=self.scale, mode=self.mode, pool=self.pool
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelSpec:
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})
