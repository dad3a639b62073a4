"""Which device and arithmetic a model runs in: the CPU's feature flags, bf16 autocast where it pays,
channels_last where oneDNN is fast in it, and the words the cards use for it. A shared leaf: it imports
nothing from the package.

    autocast_for(model_device(model), "auto")    # bf16 on CUDA, AMX and AVX512-BF16 EPYC CPUs, fp32 elsewhere
"""

from __future__ import annotations

import contextlib
import functools

import torch
from torch import nn


# ----------------------------------------------------------------------------- helpers
def model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@functools.cache
def cpu_fields() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo ('model name', 'flags', ...), which describe them all;
    empty where there is none."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                k, _, v = line.partition(":")
                fields[k.strip()] = v.strip()
    except OSError:
        pass
    return fields


@functools.cache  # asked on every autocast decision
def _cpu_words() -> frozenset[str]:
    """The CPU's feature flags and vendor, from ``cpu_fields`` (empty where there is no /proc/cpuinfo)."""
    fields = cpu_fields()
    return frozenset(fields.get("flags", "").split()) | frozenset(fields.get("vendor_id", "").split())


def cpu_vector_words() -> str:
    """The CPU's widest matrix or vector extension, in the words the docs use for machine kinds ('AMX',
    'AVX512-BF16', 'AVX-512', 'AVX2'; '' where none of these): two EPYCs of one model name differ 3-8x in
    a width-64 model's hours by it, so the cards say it beside the name."""
    words = _cpu_words()
    for flag, text in (("amx_bf16", "AMX"), ("avx512_bf16", "AVX512-BF16"), ("avx512f", "AVX-512"), ("avx2", "AVX2")):
        if flag in words:
            return text
    return ""


def cpu_fast_bf16() -> bool:
    """True where bf16 autocast was measured to pay off on the CPU: AMX tiles (Intel Sapphire Rapids and
    later), and AMD EPYCs with AVX512-BF16 (Zen 4): on a 2-core one, an N-FGSM training step of a width-64
    ResNet18 ran 2.2× (strides 1222) and 2.4× (1122) faster than in fp32, width 16 1.9×/2.1×, PGD-20 1.7×.
    Not elsewhere: on a 2-core AVX2 EPYC a width-16 forward pass on 500 images took 2.7 s under bf16 autocast
    against 0.4 s in fp32 (emulated bf16); on a 2-core Xeon with AVX512-BF16 but no AMX, PGD-10 on one image
    took 63 ms against 48 ms in fp32 and a training step was within 10% either way."""
    words = _cpu_words()
    return "amx_bf16" in words or ("avx512_bf16" in words and "AuthenticAMD" in words)


def cpu_nhwc() -> bool:
    """True on CPUs with AVX-512, where oneDNN's channels_last (NHWC) convolutions are the fast path in
    fp32 too: measured on a 2-core Xeon, PGD-10 on 10 images took 178 vs 272 ms (4×4 baseline) and
    504 vs 675 ms (×2 upsampling) with the model loaded channels_last. Not used on AVX2 CPUs, where it
    was not measured for inference and fp32 training in channels_last crashed torch 2.14.1."""
    return "avx512f" in _cpu_words()


def memory_format(device: torch.device) -> torch.memory_format:
    """The layout a model trains and is evaluated in: channels_last on CUDA-less AVX-512 or fast-bf16 CPUs
    (N-FGSM steps 1.77× faster in fp32 on a 2-core AVX-512 EPYC, 521 against 294 img/s, width 16, strides
    1222); elsewhere as given, since on AVX2 fp32 training's backward in channels_last crashed torch 2.14.1."""
    fast = device.type == "cpu" and (cpu_nhwc() or cpu_fast_bf16())
    return torch.channels_last if fast else torch.preserve_format


def autocast_for(device: torch.device, precision: str):
    """``"auto"``: bf16 autocast on CUDA and on the CPUs of ``cpu_fast_bf16``, plain fp32 elsewhere;
    ``"fp32"``."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision != "auto":
        raise ValueError(f"precision must be 'auto' or 'fp32', got {precision!r}")
    if device.type == "cpu" and not cpu_fast_bf16():
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def arithmetic(device, precision: str = "auto") -> str:
    """What ``autocast_for(device, precision)`` computes in, in words for cards: 'bf16 autocast' or 'fp32'."""
    plain = isinstance(autocast_for(torch.device(device), precision), contextlib.nullcontext)
    return "fp32" if plain else "bf16 autocast"
