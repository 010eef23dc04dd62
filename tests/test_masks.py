"""Foreground masks of Sec. 4.1: the Gaussian, the authors' code mask, a supplied mask's shape."""

import math

import pytest
import torch

from lib.masks import as_batch_mask, authors_code_mask, gaussian_mask


def test_gaussian_mask_values_by_hand():
    m = gaussian_mask(4, 2, sigma_y=0.5, sigma_x=0.25)
    assert m.shape == (4, 2) and m.dtype == torch.float32
    # pixel (0, 0): y = (0.5 - 2) / 2 = -0.75, x = (0.5 - 1) / 0.5 = -1
    assert m[0, 0].item() == pytest.approx(math.exp(-0.5 * (0.75**2 + 1.0)))
    # pixel (1, 1): y = (1.5 - 2) / 2 = -0.25, x = (1.5 - 1) / 0.5 = 1
    assert m[1, 1].item() == pytest.approx(math.exp(-0.5 * (0.25**2 + 1.0)))
    assert torch.equal(m, m.flip(0)) and torch.equal(m, m.flip(1))  # centred


def test_gaussian_mask_defaults_and_errors():
    m = gaussian_mask(384, 128)
    assert m.max().item() == pytest.approx(1.0, abs=1e-3)
    assert m[0, 64].item() == pytest.approx(math.exp(-0.5), abs=0.01)  # top row, 1 sigma
    assert m[192, 0].item() == pytest.approx(math.exp(-2.0), abs=0.01)  # left border, 2 sigma
    wide = gaussian_mask(384, 128, sigma_x=1.0)
    assert wide[192, 0] > m[192, 0]
    with pytest.raises(ValueError, match="positive"):
        gaussian_mask(0, 4)
    with pytest.raises(ValueError, match="sigmas"):
        gaussian_mask(4, 4, sigma_x=0.0)


def test_authors_code_mask_has_no_horizontal_falloff():
    m = authors_code_mask(256, 128)
    assert torch.equal(m, m[:, :1].expand_as(m))
    # row 0: 2^(-127.5/256) * 2^(-63.5/128)
    assert m[0, 0].item() == pytest.approx(2 ** (-127.5 / 256) * 2 ** (-63.5 / 128))


def test_as_batch_mask_shapes():
    like = torch.zeros(2, 3, 4, 5)
    assert as_batch_mask(None, like).shape == (1, 1, 4, 5)
    assert as_batch_mask(torch.ones(4, 5), like).shape == (1, 1, 4, 5)
    assert as_batch_mask(torch.ones(2, 4, 5), like).shape == (2, 1, 4, 5)
    supplied = torch.rand(2, 1, 4, 5)
    assert torch.equal(as_batch_mask(supplied, like), supplied)  # dataset mask passes through
    with pytest.raises(ValueError, match="batch"):
        as_batch_mask(torch.ones(3, 1, 4, 5), like)
