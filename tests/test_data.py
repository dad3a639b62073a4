import time

import pytest
import torch
from upload_corpus import exif_rotated_jpeg, hostile_files, valid_files

from rcm_demo import data

VALID = valid_files()
HOSTILE = hostile_files()


@pytest.mark.parametrize("name", sorted(VALID))
def test_decode_valid(name):
    x = data.decode_image(VALID[name])
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32
    assert 0 <= x.min() and x.max() <= 1
    assert torch.isfinite(x).all()


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_decode_hostile_is_refused_quickly(name):
    t = time.time()
    with pytest.raises(ValueError) as err:
        data.decode_image(HOSTILE[name])
    assert time.time() - t < 5
    msg = str(err.value)
    assert len(msg) > 20 and "Traceback" not in msg


def test_decode_messages_say_what_is_wrong():
    with pytest.raises(ValueError, match="empty"):
        data.decode_image(b"")
    with pytest.raises(ValueError, match="30000x30000|too large"):
        data.decode_image(HOSTILE["bomb_30000.png"])
    with pytest.raises(ValueError, match="not an image"):
        data.decode_image(HOSTILE["vector.svg"])
    with pytest.raises(ValueError, match="MB"):
        data.decode_image(b"\x00" * (data.MAX_UPLOAD_BYTES + 1))


def test_exif_orientation_applied():
    x = data.decode_image(exif_rotated_jpeg())
    top, bottom = x[:, :10].mean((1, 2)), x[:, 22:].mean((1, 2))
    assert top[0] > 0.8 and top[2] < 0.2  # red on top after rotation
    assert bottom[2] > 0.8 and bottom[0] < 0.2


def test_transparency_composited_on_white_and_animation_first_frame():
    lo = data.decode_image(VALID["rgba.png"])
    assert lo.min() > 0.2  # half-transparent over white is light
    first = data.decode_image(VALID["animated.gif"])
    assert not torch.allclose(first, torch.tensor([1.0, 0, 0]).view(3, 1, 1).expand(3, 32, 32), atol=0.1)


def test_sixteen_bit_and_float_keep_their_range():
    g16 = data.decode_image(VALID["16bit.png"])
    gf = data.decode_image(VALID["float.tiff"])
    for g in (g16, gf):
        assert g[:, 0, :].mean() < 0.2 and g[:, -1, :].mean() > 0.8  # dark top row, light bottom row


def test_bundled_sample():
    s = data.load_sample()
    assert s.x.shape == (500, 3, 32, 32) and s.x.dtype == torch.uint8
    assert torch.equal(s.y.bincount(), torch.full((10,), 50))
    assert "JPEG" in s.source


def test_image_folder_loader_and_cache(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    for split in ("train", "test"):
        for i, c in enumerate(data.CLASSES):
            (tmp_path / "ds" / split / c).mkdir(parents=True)
            Image.new("RGB", (32, 32), (i * 20, 0, 0)).save(tmp_path / "ds" / split / c / "0.png")
    d = data.load_cifar10("test", tmp_path / "ds")
    assert d.x.shape == (10, 3, 32, 32) and d.y.tolist() == list(range(10))
    assert d.x[3, 0, 0, 0] == 60
    assert list((tmp_path / "cache").glob("*.npz"))
    assert torch.equal(data.load_cifar10("test", tmp_path / "ds").x, d.x)  # from the cache
    with pytest.raises(ValueError, match="data-dir"):
        data.load_cifar10("test")
    with pytest.raises(FileNotFoundError):
        data.load_cifar10("test", tmp_path / "nowhere")


def test_fixed_subset_is_stable():
    assert torch.equal(data.fixed_subset(100, 10, 3), data.fixed_subset(100, 10, 3))
    assert not torch.equal(data.fixed_subset(100, 10, 3), data.fixed_subset(100, 10, 4))
    with pytest.raises(ValueError):
        data.fixed_subset(10, 11)
    # a prefix is a uniform sample, not the first classes of a class-ordered data set
    labels = torch.arange(10000) // 1000
    assert len(labels[data.fixed_subset(10000, 1000)[:500]].unique()) == 10
    assert torch.equal(data.fixed_subset(10000, 1000)[:500], data.fixed_subset(10000, 500))
