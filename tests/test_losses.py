"""The pixel losses of the pix2pix-style objective, checked against hand-computed values."""
from __future__ import annotations

import torch

from gan_matting.data.composite import composite
from gan_matting.losses import alpha_l1, composition_loss, fg_l1, gradient_loss, laplacian_loss, trimap_ce


def test_alpha_l1_is_a_masked_mean():
    pred = torch.zeros(1, 1, 4, 4)
    gt = torch.zeros(1, 1, 4, 4)
    gt[..., :2, :] = 1.0                      # error 1 on the top half, 0 below
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., 1:3, :] = 1.0                   # half the masked pixels are wrong
    assert torch.isclose(alpha_l1(pred, gt, mask), torch.tensor(0.5))
    assert torch.isclose(alpha_l1(pred, gt, torch.ones_like(mask)), torch.tensor(0.5))
    assert alpha_l1(pred, gt, torch.zeros_like(mask)) == 0  # empty mask: no NaN


def test_composition_loss_zero_for_the_true_matte_and_positive_otherwise():
    g = torch.Generator().manual_seed(0)
    a, fg, bg = torch.rand(2, 1, 8, 8, generator=g), torch.rand(2, 3, 8, 8, generator=g), torch.rand(2, 3, 8, 8, generator=g)
    image = composite(a, fg, bg)
    ones = torch.ones_like(a)
    assert composition_loss(a, fg, bg, image, ones) < 1e-7
    worse = composition_loss((a + 0.2).clamp(0, 1), fg, bg, image, ones)
    assert worse > 0.01


def test_laplacian_loss_sees_detail_that_a_blur_loses():
    gt = torch.zeros(1, 1, 64, 64)
    gt[..., ::4, :] = 1.0                     # thin strands
    blurred = torch.full_like(gt, gt.mean().item())
    assert laplacian_loss(gt, gt) == 0
    assert laplacian_loss(blurred, gt) > 0.05
    # a constant offset changes only the coarsest level, far less than losing the strands
    assert laplacian_loss(gt + 0.01, gt) < laplacian_loss(blurred, gt) / 5


def test_gradient_loss_penalises_a_missing_edge_inside_the_mask_only():
    gt = torch.zeros(1, 1, 16, 16)
    gt[..., 8:] = 1.0
    flat = torch.full_like(gt, 0.5)
    everywhere, nowhere = torch.ones_like(gt), torch.zeros_like(gt)
    far = torch.zeros_like(gt)
    far[..., :3] = 1.0                        # columns far from the edge
    assert gradient_loss(gt, gt, everywhere) == 0
    assert gradient_loss(flat, gt, everywhere) > 0
    assert gradient_loss(flat, gt, far) == 0 and gradient_loss(flat, gt, nowhere) == 0


def test_fg_l1_only_where_alpha_positive_and_fg_known():
    fg_gt = torch.zeros(2, 3, 4, 4)
    fg = torch.ones(2, 3, 4, 4)
    alpha = torch.zeros(2, 1, 4, 4)
    alpha[:, :, :2] = 0.5
    assert torch.isclose(fg_l1(fg, fg_gt, alpha, torch.tensor([1.0, 1.0])), torch.tensor(1.0))
    assert fg_l1(fg, fg_gt, alpha, torch.tensor([0.0, 0.0])) == 0   # F unknown: no loss
    assert fg_l1(fg, fg_gt, torch.zeros_like(alpha), torch.tensor([1.0, 1.0])) == 0


def test_trimap_ce_prefers_the_right_class():
    tri = torch.tensor([0.0, 0.5, 1.0]).view(1, 1, 1, 3)
    right = torch.full((1, 3, 1, 3), -5.0)
    right[0, 0, 0, 0] = right[0, 1, 0, 1] = right[0, 2, 0, 2] = 5.0
    assert trimap_ce(right, tri) < 0.01 < trimap_ce(-right, tri)


def test_losses_pass_gradients():
    pred = torch.rand(1, 1, 32, 32, requires_grad=True)
    gt = torch.rand(1, 1, 32, 32)
    m = torch.ones_like(gt)
    (alpha_l1(pred, gt, m) + laplacian_loss(pred, gt) + gradient_loss(pred, gt, m)).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
