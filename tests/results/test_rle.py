"""COCO RLE masks decode as pycocotools decodes them: compressed strings and lists of counts,
empty, full and random masks of many shapes."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from infinityframe._frame_images import rle_counts, rle_mask


def masks() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    found = [np.zeros((5, 4), np.uint8), np.ones((3, 9), np.uint8), np.ones((1, 1), np.uint8)]
    for _ in range(60):
        height, width = (int(v) for v in rng.integers(1, 160, 2))
        mask = (rng.random((height, width)) < rng.random()).astype(np.uint8)
        found.append(mask)
        block = np.zeros((height, width), np.uint8)
        block[rng.integers(0, height):, rng.integers(0, width):] = 1
        found.append(block)
    return found


@pytest.mark.parametrize("mask", masks(), ids=lambda m: f"{m.shape[0]}x{m.shape[1]}-{int(m.sum())}")
def test_decodes_as_pycocotools(mask: np.ndarray) -> None:
    encoded = coco_mask.encode(np.asfortranarray(mask))
    expected = coco_mask.decode(encoded).astype(bool)
    size = [int(v) for v in encoded["size"]]
    assert (rle_mask({"size": size, "counts": encoded["counts"]}) == expected).all()
    assert (rle_mask({"size": size, "counts": encoded["counts"].decode()}) == expected).all()
    # the same runs as a plain list of counts (COCO's uncompressed RLE)
    runs = rle_counts(encoded["counts"])
    assert runs.sum() == mask.size and (runs[1:] >= 0).all()
    assert (rle_mask({"size": size, "counts": runs.tolist()}) == expected).all()


def test_an_empty_string_is_no_runs() -> None:
    assert rle_counts("").tolist() == []
    assert not rle_mask({"size": [2, 3], "counts": ""}).any()
