"""Dataset readers, compositing, augmentation determinism, trimaps and backgrounds."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_matting import GanMattingError
from gan_matting.data.backgrounds import PATTERNS, random_background, wheel_photo_paths
from gan_matting.data.dataset import MattingDataset
from gan_matting.data.layouts import LAYOUTS, read_folder
from gan_matting.data.trimap import superpixel_trimap, trimap_from_alpha

from .conftest import disk_alpha, save, shared_path


def test_unknown_layout_names_the_registered_ones(tiny_custom):
    with pytest.raises(GanMattingError, match="unknown layout 'nope'; choose from auto, " + ", ".join(sorted(LAYOUTS))):
        read_folder(tiny_custom, "nope")


def test_custom_layout_pairs_by_stem(tiny_custom):
    f = read_folder(tiny_custom)
    assert f.layout == "custom" and f.names() == ["s0", "s1", "s2"]
    s = f.samples[1]
    assert s.image.name == s.alpha.name == s.fg.name == s.bg.name == "s1.png"
    assert f.trimap_names == ["trimaps"] and not f.orphans


def test_custom_fg_only_layout(tmp_path):
    for i in range(2):
        save(tmp_path / "fg" / f"a{i}.jpg", np.full((20, 20, 3), 0.5, np.float32))
        save(tmp_path / "alphas" / f"a{i}.png", disk_alpha(20, 20, 5))
    f = read_folder(tmp_path)
    assert f.layout == "custom" and all(s.image is None and s.fg is not None for s in f.samples)


def test_comp1k_train_and_test(tmp_path):
    tr, te = tmp_path / "train", tmp_path / "test"
    for n in ("x", "y"):
        save(tr / "fg" / f"{n}.png", np.zeros((8, 8, 3), np.uint8))
        save(tr / "alpha" / f"{n}.png", np.zeros((8, 8), np.uint8))
        save(te / "merged" / f"{n}_0.png", np.zeros((8, 8, 3), np.uint8))
        save(te / "alpha_copy" / f"{n}_0.png", np.zeros((8, 8), np.uint8))
        save(te / "trimaps" / f"{n}_0.png", np.full((8, 8), 128, np.uint8))
    a, b = read_folder(tr), read_folder(te)
    assert a.layout == b.layout == "comp1k"
    assert all(s.fg and s.alpha and s.image is None for s in a.samples)
    assert all(s.image and s.alpha and "trimaps" in s.trimaps for s in b.samples)


def test_alphamatting_layout(tmp_path):
    for n in ("GT01", "GT02"):
        save(tmp_path / "input" / f"{n}.png", np.zeros((8, 8, 3), np.uint8))
        save(tmp_path / "alpha" / f"{n}.png", np.zeros((8, 8, 3), np.uint8))
        for t in ("trimap1", "trimap2"):
            save(tmp_path / t / f"{n}.png", np.full((8, 8), 128, np.uint8))
    f = read_folder(tmp_path)
    assert f.layout == "alphamatting" and f.trimap_names == ["trimap1", "trimap2"]


def test_shared_alphamatting_dev_reads():
    root = shared_path("data", "alphamatting_dev")
    f = read_folder(root)
    assert len(f.samples) == 19 and f.trimap_names == ["trimap1", "trimap2"] and not f.orphans
    test = read_folder(shared_path("data", "alphamatting_test"))
    assert len(test.samples) == 8 and all(s.alpha is None for s in test.samples)


def test_training_dataset_items(tiny_custom):
    ds = MattingDataset(read_folder(tiny_custom), crop_size=32, seed=3)
    item = ds[0]
    for k, c in (("image", 3), ("alpha", 1), ("fg", 3), ("bg", 3), ("trimap", 1)):
        assert item[k].shape == (c, 32, 32) and item[k].dtype == torch.float32
        assert 0 <= float(item[k].min()) and float(item[k].max()) <= 1
    assert set(torch.unique(item["trimap"]).tolist()) <= {0.0, 0.5, 1.0}
    # the composite obeys the matting equation on the fly
    recon = item["alpha"] * item["fg"] + (1 - item["alpha"]) * item["bg"]
    assert torch.allclose(recon, item["image"], atol=1e-5)
    assert float(item["has_fg"]) == 1.0


def test_augmentation_is_seeded_and_pure(tiny_custom):
    f = read_folder(tiny_custom)
    a, b = MattingDataset(f, 32, seed=5), MattingDataset(f, 32, seed=5)
    torch.manual_seed(123)
    np.random.seed(123)
    x = a[1]
    torch.manual_seed(999)  # global RNG state must not matter
    y = b[1]
    for k in ("image", "alpha", "trimap"):
        assert torch.equal(x[k], y[k])
    b.set_epoch(1)
    assert not torch.equal(x["image"], b[1]["image"])
    c = MattingDataset(f, 32, seed=6)
    assert not torch.equal(x["image"], c[1]["image"])


def test_photo_without_fg_is_not_composited(tmp_path):
    a = disk_alpha(40, 40, 10)
    img = np.random.default_rng(0).uniform(0, 1, (40, 40, 3)).astype(np.float32)
    save(tmp_path / "images" / "p.png", img)
    save(tmp_path / "alphas" / "p.png", a)
    ds = MattingDataset(read_folder(tmp_path), 24, augment=False)
    item = ds[0]
    assert float(item["has_fg"]) == 0.0 and torch.equal(item["image"], item["fg"])


def test_erode_dilate_trimap_covers_all_partial_alpha():
    a = disk_alpha(64, 64, 16, soft=3)
    for r in (0, 2, 6):
        t = trimap_from_alpha(a, r)
        assert set(np.unique(t)) <= {0, 128, 255}
        partial = (a > 0) & (a < 1)
        assert (t[partial] == 128).all()
        assert (t[a == 0][t[a == 0] != 128] == 0).all() and (t[a == 1][t[a == 1] != 128] == 255).all()
    # a bigger radius gives a wider band, and the random range is seeded
    assert (trimap_from_alpha(a, 6) == 128).sum() > (trimap_from_alpha(a, 2) == 128).sum()
    r1 = trimap_from_alpha(a, (2, 9), np.random.default_rng(4))
    r2 = trimap_from_alpha(a, (2, 9), np.random.default_rng(4))
    assert np.array_equal(r1, r2)


def test_kornia_engine_matches_edt():
    a = disk_alpha(50, 60, 14, soft=2)
    a[5:8, 3:40] = 0.3
    for r in (1, 3, 5):
        assert np.array_equal(trimap_from_alpha(a, r, engine="kornia"), trimap_from_alpha(a, r, engine="edt"))


def test_superpixel_trimap_marks_straddling_superpixels():
    rng = np.random.default_rng(0)
    a = disk_alpha(64, 64, 18, soft=0.5)
    a[10:12, 5:60] = 1.0  # a thin bar: must stay covered
    img = np.clip(a[..., None] * [0.9, 0.3, 0.2] + (1 - a[..., None]) * [0.1, 0.5, 0.8] + rng.normal(0, 0.02, (64, 64, 3)), 0, 1)
    t = superpixel_trimap(img, a, n_segments=60)
    assert set(np.unique(t)) <= {0, 128, 255}
    edge = (a > 0.5) ^ (np.roll(a, 1, 0) > 0.5)
    assert (t[edge] == 128).all()
    assert (t == 255).any() and (t == 0).any()
    assert (t == 128).mean() < 0.8


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_patterns_are_seeded_images(name):
    x = PATTERNS[name](40, 50, np.random.default_rng(1))
    y = PATTERNS[name](40, 50, np.random.default_rng(1))
    z = PATTERNS[name](40, 50, np.random.default_rng(2))
    assert x.shape == (40, 50, 3) and 0 <= x.min() and x.max() <= 1
    assert np.array_equal(x, y) and not np.array_equal(x, z) and x.std() > 0.01


def test_wheel_photos_need_no_download():
    photos = wheel_photo_paths()
    if not photos:
        pytest.skip("no scikit-image/scikit-learn photos installed")
    assert all(p.exists() for p in photos)
    bg = random_background(30, 40, np.random.default_rng(0), photo_prob=1.0)
    assert bg.shape == (30, 40, 3)
