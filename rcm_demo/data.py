"""CIFAR-10 data: constants, the bundled test sample, data-set loaders and upload decoding.

Two sources for the full data set, chosen by the caller:

* an ImageFolder directory ``<dir>/{train,test}/<class>/*`` (here: ``../shared/data/cifar10-jpeg``,
  a JPEG quality-75 re-encoding of CIFAR-10), decoded once and cached as ``.npz``;
* the torchvision format (``torchvision.datasets.CIFAR10``; ``download=True`` for users online).

Both return ``(x, y)``: uint8 images (N, 3, 32, 32) and int64 labels, so training and evaluation
code never cares which one it got. ``load_sample()`` returns the 500 bundled test images
(see ``assets/PROVENANCE.md``) and needs no data set at all.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

# CIFAR-10's per-channel statistics: the models' default normalisation (models import them from here).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2471, 0.2435, 0.2616)

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
ASSETS = Path(__file__).parent / "assets"
SAMPLE_FILE = ASSETS / "cifar10_test_sample.npz"
CACHE_DIR = Path(os.environ.get("RCM_CACHE_DIR", Path.home() / ".cache" / "rcm_demo"))

# Upload limits: a phone photo is ~12 MP / ~10 MB; anything far beyond is refused before decoding.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 20_000
ACCEPTED_FORMATS = ("PNG", "JPEG", "MPO", "WEBP", "BMP", "TIFF", "GIF")
ACCEPTED_TEXT = "PNG, JPEG, WebP, BMP, TIFF or GIF image (at most 20 MB and 40 megapixels)"


@dataclass(frozen=True)
class Dataset:
    x: torch.Tensor  # (N, 3, 32, 32) uint8
    y: torch.Tensor  # (N,) int64
    source: str  # human-readable provenance, written into model cards

    def __len__(self):
        return len(self.y)

    def float(self, idx=None) -> torch.Tensor:
        x = self.x if idx is None else self.x[idx]
        return x.float().div_(255)


# ----------------------------------------------------------------------------- bundled sample
def load_sample() -> Dataset:
    """The bundled 500-image CIFAR-10 test sample (50 per class)."""
    with np.load(SAMPLE_FILE) as f:
        x, y = torch.from_numpy(f["x"].copy()), torch.from_numpy(f["y"].astype(np.int64))
    return Dataset(x, y, "rcm-demo bundled sample: 500 CIFAR-10 test images (cifar10-jpeg variant, JPEG q75)")


# ----------------------------------------------------------------------------- full data set
def _decode_file(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def _read_image_folder(split_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    classes = sorted(p.name for p in split_dir.iterdir() if p.is_dir())
    if tuple(classes) != CLASSES:
        raise ValueError(f"{split_dir} must hold the ten CIFAR-10 class folders {CLASSES}, found {classes}")
    files, labels = [], []
    for label, name in enumerate(classes):
        for f in sorted((split_dir / name).iterdir()):
            files.append(f)
            labels.append(label)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        images = list(pool.map(_decode_file, files, chunksize=256))
    bad = [str(f) for f, im in zip(files, images) if im.shape != (32, 32, 3)]
    if bad:
        raise ValueError(f"{len(bad)} images in {split_dir} are not 32x32, e.g. {bad[0]}")
    return np.stack(images).transpose(0, 3, 1, 2).copy(), np.asarray(labels, dtype=np.int64)


def load_image_folder(data_dir: str | os.PathLike, split: str) -> Dataset:
    """Decode ``data_dir/split/<class>/*`` once, then reuse a cache keyed by path and file count."""
    split_dir = Path(data_dir).expanduser().resolve() / split
    if not split_dir.is_dir():
        raise FileNotFoundError(f"no '{split}' folder in {data_dir}; expected {split_dir}/<class>/*.jpg")
    n_files = sum(len(os.listdir(split_dir / c)) for c in CLASSES if (split_dir / c).is_dir())
    key = hashlib.sha256(f"{split_dir}:{n_files}".encode()).hexdigest()[:16]
    cache = CACHE_DIR / f"imagefolder_{split}_{key}.npz"
    if cache.exists():
        with np.load(cache) as f:
            x, y = f["x"], f["y"]
    else:
        x, y = _read_image_folder(split_dir)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.stem}.{os.getpid()}.tmp.npz")  # one per process: torchrun ranks race here
        np.savez(tmp, x=x, y=y)
        tmp.replace(cache)
    return Dataset(torch.from_numpy(x), torch.from_numpy(y), dataset_name(split_dir.parent.name, split))


# What model cards call a data set: its name and variant, never a path on the machine that used it.
KNOWN_VARIANTS = {
    "cifar10-jpeg": "CIFAR-10 {split} split, cifar10-jpeg variant (re-encoded as JPEG quality 75; ImageFolder)",
    "torchvision": "CIFAR-10 {split} split, original (torchvision.datasets.CIFAR10)",
}


def dataset_name(variant: str, split: str) -> str:
    """'cifar10-jpeg' / 'torchvision' / any ImageFolder directory name -> the text written into cards."""
    if variant in KNOWN_VARIANTS:
        return KNOWN_VARIANTS[variant].format(split=split)
    return f"CIFAR-10 {split} split, ImageFolder variant {variant!r}"


def load_torchvision(root: str | os.PathLike, split: str, download: bool = False) -> Dataset:
    """The original CIFAR-10 through torchvision (``download=True`` fetches it once)."""
    from torchvision.datasets import CIFAR10

    ds = CIFAR10(str(root), train=(split == "train"), download=download)
    x = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()
    return Dataset(x, torch.tensor(ds.targets, dtype=torch.int64), dataset_name("torchvision", split))


def load_cifar10(split: str, data_dir=None, root=None, download=False) -> Dataset:
    """One entry point: ``data_dir`` (ImageFolder) wins, else the torchvision format under ``root``."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if data_dir:
        return load_image_folder(data_dir, split)
    if root:
        return load_torchvision(root, split, download)
    raise ValueError(
        "give --data-dir (an ImageFolder such as ../shared/data/cifar10-jpeg) "
        "or --data-root with --download (torchvision CIFAR-10)"
    )


def fixed_subset(n_total: int, n: int, seed: int = 0) -> torch.Tensor:
    """The same ``n`` indices for the same seed: evaluations are comparable across models.

    The order is random, not sorted: data sets are stored class by class, so any prefix of the result
    (e.g. the first 500 images used for AutoAttack) is itself a uniform random sample."""
    if not 1 <= n <= n_total:
        raise ValueError(f"n must be in 1..{n_total}, got {n}")
    g = torch.Generator().manual_seed(seed)
    return torch.randperm(n_total, generator=g)[:n]


# ----------------------------------------------------------------------------- uploads
def _to_rgb_array(im: Image.Image) -> np.ndarray:
    """Any PIL mode -> (H, W, 3) uint8; transparency is composited on white."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        if im.mode.startswith("I;16"):
            a = a / 65535.0
        elif im.mode == "I":
            a = a / max(float(a.max()), 65535.0 if a.max() > 255 else 255.0)
        elif not (np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1):  # float image outside [0, 1]
            a = np.nan_to_num(a)
            a = (a - a.min()) / max(float(a.max() - a.min()), 1e-12)
        g = (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=2)
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def decode_image(data: bytes, size: int = 32) -> torch.Tensor:
    """Decode an uploaded image into a (3, size, size) float tensor in [0, 1].

    Centre-crops to a square, applies EXIF orientation, takes the first frame of animations and
    resizes with antialiasing. Raises ``ValueError`` with a readable message for anything else.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError("expected the raw bytes of an image file")
    data = bytes(data)
    if len(data) == 0:
        raise ValueError(f"the file is empty; upload a {ACCEPTED_TEXT}")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValueError(f"the file is {len(data) / 2**20:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.init()  # registers every plugin (MPO, WebP...) before the format whitelist applies
            im = Image.open(io.BytesIO(data), formats=[f for f in ACCEPTED_FORMATS if f in Image.OPEN])
            w, h = im.size
            if w < 1 or h < 1 or w > MAX_SIDE or h > MAX_SIDE or w * h > MAX_PIXELS:
                raise ValueError(
                    f"the image claims {w}x{h} pixels; the limit is {MAX_PIXELS // 10**6} megapixels "
                    f"and {MAX_SIDE} pixels a side"
                )
            im.seek(0)
            if im.format in ("JPEG", "MPO"):  # decode big JPEGs at reduced size: fast and frugal
                im.draft("RGB", (size * 4, size * 4))
            im.load()
            im = ImageOps.exif_transpose(im)
            rgb = _to_rgb_array(im)
    except ValueError:
        raise
    except UnidentifiedImageError:
        raise ValueError(f"this is not an image file we can read; upload a {ACCEPTED_TEXT}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(f"the image is too large to decode safely (limit {MAX_PIXELS // 10**6} megapixels)") from None
    except (OSError, SyntaxError, EOFError, IndexError, TypeError, KeyError, MemoryError) as e:
        raise ValueError(f"the image file is damaged or truncated ({e}); upload a {ACCEPTED_TEXT}") from None
    h, w = rgb.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    square = Image.fromarray(np.ascontiguousarray(rgb[top : top + s, left : left + s]))
    small = square.resize((size, size), Image.LANCZOS, reducing_gap=3.0)
    return torch.from_numpy(np.asarray(small, dtype=np.uint8).copy()).permute(2, 0, 1).float().div_(255)
