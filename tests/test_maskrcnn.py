"""The Mask R-CNN auto-trimap front-end: the Penn-Fudan loader, a training step that reaches every part of
the network, the soft-foreground contract, and `make-trimap --method maskrcnn` end to end."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gan_matting import GanMattingError
from gan_matting.cli import main
from gan_matting.config import load_config
from gan_matting.data.io import read_trimap
from gan_matting.data.pennfudan import MAX_INSTANCES, PennFudanDataset, pennfudan_pairs, write_pennfudan
from gan_matting.models import build_model, build_network
from gan_matting.models.weights import RELEASED_WEIGHTS, save_generator


@pytest.fixture(scope="module")
def pennfudan(tmp_path_factory):
    return write_pennfudan(tmp_path_factory.mktemp("pf") / "PennFudanPed", n=4, size=64, seed=1)


def test_pennfudan_loader_keeps_every_instance(pennfudan):
    ds = PennFudanDataset(pennfudan, size=96)
    assert len(ds) == 4
    for i in range(len(ds)):
        item = ds[i]
        ids = np.asarray(Image.open(ds.pairs[i][1]))
        n = len(np.unique(ids)) - 1
        assert item["image"].shape == (3, 96, 96) and item["masks"].shape == (MAX_INSTANCES, 96, 96)
        assert item["n_instances"] == n >= 1
        assert (item["masks"][:n].flatten(1).amax(1) == 1).all() and item["masks"][n:].sum() == 0
        # letterboxed: the width fills the square, the padding below the image stays empty
        h = round(ids.shape[0] * 96 / ids.shape[1])
        assert item["image"][:, h + 1:].abs().sum() == 0 and item["masks"][:, h + 1:].sum() == 0
        # the largest instance comes first
        areas = item["masks"][:n].sum((1, 2))
        assert torch.all(areas[:-1] >= areas[1:])


def test_pennfudan_layout_errors_name_what_is_missing(tmp_path, pennfudan):
    with pytest.raises(GanMattingError, match="PNGImages"):
        pennfudan_pairs(tmp_path)
    import shutil
    broken = tmp_path / "pf"
    shutil.copytree(pennfudan, broken)
    next((broken / "PedMasks").iterdir()).unlink()
    with pytest.raises(GanMattingError, match="no mask for"):
        pennfudan_pairs(broken)


def test_one_step_on_pennfudan_reaches_backbone_and_mask_head(pennfudan):
    torch.manual_seed(0)
    cfg = load_config(None, ["model.name=maskrcnn_trimap", "model.generator.name=maskrcnn_mobilenet_v3",
                             "data.source=pennfudan", f"data.root={pennfudan}", "data.crop=64", "optim.lr_g=0.005"])
    m = build_model(cfg, torch.device("cpu"))
    assert isinstance(m.optimizers["G"], torch.optim.SGD) and m.optimizers["G"].defaults["momentum"] == 0.9
    ds = PennFudanDataset(pennfudan, size=64)
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    m.set_input(batch)
    assert [len(t["boxes"]) for t in m.targets] == [int(n) for n in batch["n_instances"]]
    net = m.generator.net
    watch = {"backbone": net.backbone.body["0"][0].weight, "mask head": net.roi_heads.mask_predictor.mask_fcn_logits.weight,
             "rpn": net.rpn.head.conv[0][0].weight}
    before = {k: v.detach().clone() for k, v in watch.items()}
    logs = m.optimize_parameters(0)
    assert logs["skipped"] == 0 and np.isfinite(logs["g_loss"])
    assert {"g_loss_mask", "g_loss_classifier", "g_loss_objectness"} <= set(logs)
    assert all(not torch.equal(before[k], watch[k]) for k in watch), "a part of Mask R-CNN did not move"


def test_matting_batches_become_one_instance_each():
    cfg = load_config(None, ["model.name=maskrcnn_trimap", "model.generator.name=maskrcnn_mobilenet_v3",
                             "data.source=synth", "data.crop=64"])
    m = build_model(cfg, torch.device("cpu"))
    alpha = torch.zeros(2, 1, 64, 64)
    alpha[0, :, 10:30, 20:50] = 0.9
    m.set_input({"image": torch.rand(2, 3, 64, 64), "alpha": alpha})
    assert m.targets[0]["boxes"].tolist() == [[20.0, 10.0, 50.0, 30.0]]
    assert len(m.targets[1]["boxes"]) == 0  # no foreground: an image with no instance (allowed by torchvision)


def test_foreground_is_a_soft_mask_of_the_image_size():
    net = build_network("maskrcnn_mobilenet_v3", min_size=64, max_size=96)
    fg = net.foreground(np.random.default_rng(0).random((45, 71, 3)).astype(np.float32), score=0.0)
    assert fg.shape == (45, 71) and fg.dtype == np.float32 and 0 <= fg.min() and fg.max() <= 1


def test_make_trimap_maskrcnn_end_to_end(tmp_path, pennfudan, monkeypatch):
    from gan_matting.models.maskrcnn import MaskRCNNNet
    net = build_network("maskrcnn_mobilenet_v3", min_size=64, max_size=96)
    w = save_generator(net, tmp_path / "mrcnn.safetensors", {"name": "maskrcnn_mobilenet_v3", "min_size": 64, "max_size": 96})
    photo = sorted((pennfudan / "PNGImages").iterdir())[0]
    ids = np.asarray(Image.open(pennfudan / "PedMasks" / f"{photo.stem}_mask.png"))
    seen = {}

    def fake_foreground(self, image, score=0.5):  # an untrained net detects noise; the plumbing is under test
        seen["loaded"] = isinstance(self, MaskRCNNNet)
        seen["score"] = score
        return np.where(ids > 0, 0.8, 0.2).astype(np.float32)  # soft scores, as a real net gives
    monkeypatch.setattr(MaskRCNNNet, "foreground", fake_foreground)
    out = tmp_path / "t.png"
    assert main(["make-trimap", "--method", "maskrcnn", "--weights", str(w), "--image", str(photo),
                 "--radius", "2", "--score", "0.3", "--out", str(out)]) == 0
    tri = read_trimap(out)
    assert seen == {"loaded": True, "score": 0.3} and tri.shape == ids.shape
    inner = (ids > 0) & (tri != 128)
    assert (tri[inner] == 255).all() and (tri[(ids == 0) & (tri != 128)] == 0).all() and (tri == 128).any()
    assert (tri == 255).any() and (tri == 0).any() and (tri == 128).mean() < 0.5  # a band, not all unknown
    # no --weights, or generator weights that are not Mask R-CNN: one-line errors
    assert main(["make-trimap", "--method", "maskrcnn", "--image", str(photo), "--out", str(tmp_path / "x.png")]) == 1
    assert main(["make-trimap", "--method", "maskrcnn", "--weights", str(RELEASED_WEIGHTS),
                 "--image", str(photo), "--out", str(tmp_path / "y.png")]) == 1


def test_local_torchvision_weights_load_where_they_fit(tmp_path):
    """model.generator.pretrained: a torchvision state dict from disk (another label set's heads left fresh);
    a file that mostly does not fit is refused naming a tensor. Nothing is downloaded."""
    from gan_matting.models.maskrcnn import load_local_weights
    src = build_network("maskrcnn_mobilenet_v3", min_size=64, max_size=64).net
    sd = {k: v.clone() for k, v in src.state_dict().items()}
    head = "roi_heads.box_predictor.cls_score.weight"
    sd[head] = torch.zeros(91, sd[head].shape[1])  # a COCO-sized classifier: must be skipped, not loaded
    torch.save(sd, tmp_path / "coco_like.pth")
    dst = build_network("maskrcnn_mobilenet_v3", min_size=64, max_size=64).net
    assert load_local_weights(dst, tmp_path / "coco_like.pth") == 1
    key = "backbone.body.0.0.weight"
    assert torch.equal(dst.state_dict()[key], src.state_dict()[key])
    assert dst.state_dict()[head].shape[0] == 2
    torch.save({"something.else": torch.zeros(3)}, tmp_path / "foreign.pth")
    with pytest.raises(GanMattingError, match="does not fit"):
        load_local_weights(dst, tmp_path / "foreign.pth")
    with pytest.raises(GanMattingError, match="nothing is downloaded"):
        load_local_weights(dst, tmp_path / "missing.pth")
