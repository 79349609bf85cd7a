"""Training batches for the codec: random crops, flips, and a mask for every crop.

Masks: ground truth where a data set has one; for plain photos a random smooth blob, and
some crops get an all-object (single-layer) or all-background mask so the model learns
every shape, including the two degenerate ones. Everything is preloaded as uint8 in RAM
(≈1.5 GB for all shared data) because decoding JPEGs every step would cost more CPU than
the 2 cores can spare.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from obic_core.datasets import REPO_ROOT, find_pairs, list_images, refuse_evaluation_data, split_pairs
from obic_core.imageio import read_image

log = logging.getLogger(__name__)

CODEC_VAL_FILE = REPO_ROOT / "resources" / "splits" / "codec_val.txt"


def codec_validation_stems() -> set[str]:
    return {s.strip() for s in CODEC_VAL_FILE.read_text().splitlines() if s.strip() and not s.startswith("#")}


def _load_rgb(path: Path) -> np.ndarray:
    return read_image(path).pixels


def _load_mask(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return (np.asarray(im.convert("L")) > 127).astype(np.uint8)


def random_blob_mask(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random shape covering 10–70 % of the crop."""
    g = int(rng.integers(2, 7))
    noise = rng.standard_normal((g, g)).astype(np.float32)
    field = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
    frac = rng.uniform(0.1, 0.7)
    thr = np.quantile(field, 1 - frac)
    return (field >= thr).astype(np.uint8)


@dataclass
class Sample:
    image: np.ndarray
    mask: np.ndarray | None


class CropSampler:
    """Draws batches of (image crops, pixel masks) from preloaded photos and mask pairs."""

    def __init__(
        self,
        photo_dirs: list[Path],
        pair_dirs: list[Path],
        crop: int = 256,
        seed: int = 0,
        full_mask_p: float = 0.3,
        empty_mask_p: float = 0.05,
    ) -> None:
        self.crop = crop
        self.rng = np.random.default_rng(seed)
        self.full_mask_p = full_mask_p
        self.empty_mask_p = empty_mask_p
        held_out = codec_validation_stems()
        self.photos: list[Sample] = []
        self.pairs: list[Sample] = []
        small = 0
        for d in photo_dirs:
            refuse_evaluation_data(d)
            for p in list_images(Path(d)):
                if p.stem in held_out:
                    continue
                img = _load_rgb(p)
                small += min(img.shape[:2]) < crop
                self.photos.append(Sample(img, None))
        for d in pair_dirs:
            refuse_evaluation_data(d)
            train, _ = split_pairs(find_pairs(Path(d)))
            for pair in train:
                img, mask = _load_rgb(pair.image), _load_mask(pair.mask)
                if mask.shape != img.shape[:2]:
                    mask = cv2.resize(mask, img.shape[1::-1], interpolation=cv2.INTER_NEAREST_EXACT)
                small += min(img.shape[:2]) < crop
                self.pairs.append(Sample(img, mask))
        if not self.photos and not self.pairs:
            raise ValueError("no training images found")
        log.info(
            "training data: %d photos, %d image/mask pairs; %d smaller than the %d px crop (reflect-padded)",
            len(self.photos),
            len(self.pairs),
            small,
            crop,
        )

    def _crop(self, s: Sample) -> tuple[np.ndarray, np.ndarray]:
        c, rng = self.crop, self.rng
        img, mask = s.image, s.mask
        h, w = img.shape[:2]
        if h < c or w < c:
            ph, pw = max(0, c - h), max(0, c - w)
            img = np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="reflect")
            if mask is not None:
                mask = np.pad(mask, ((0, ph), (0, pw)), mode="reflect")
            h, w = img.shape[:2]
        y0, x0 = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
        img = img[y0 : y0 + c, x0 : x0 + c]
        u = rng.random()
        if u < self.full_mask_p:
            mask = np.ones((c, c), np.uint8)
        elif u < self.full_mask_p + self.empty_mask_p:
            mask = np.zeros((c, c), np.uint8)
        elif mask is None:
            mask = random_blob_mask(c, c, rng)
        else:
            mask = mask[y0 : y0 + c, x0 : x0 + c]
        if rng.random() < 0.5:
            img, mask = img[:, ::-1], mask[:, ::-1]
        return img, mask

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        imgs, masks = [], []
        for _ in range(size):
            pool = self.photos if (not self.pairs or (self.photos and self.rng.random() < 0.5)) else self.pairs
            img, mask = self._crop(pool[int(self.rng.integers(len(pool)))])
            imgs.append(np.ascontiguousarray(img))
            masks.append(np.ascontiguousarray(mask))
        x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float().div_(255)
        m = torch.from_numpy(np.stack(masks)).unsqueeze(1).float()
        return x, m


def codec_validation_images(photo_dirs: list[Path], size: int = 256) -> torch.Tensor | None:
    """The held-out photos, centre-cropped to size×size (fixed, so figures are comparable)."""
    out = []
    stems = codec_validation_stems()
    for d in photo_dirs:
        for p in list_images(Path(d)):
            if p.stem in stems:
                img = _load_rgb(p)
                h, w = img.shape[:2]
                y0, x0 = (h - size) // 2, (w - size) // 2
                out.append(img[y0 : y0 + size, x0 : x0 + size])
    if not out:
        log.warning(
            "none of the codec validation photos are in %s: no periodic validation/export", [str(d) for d in photo_dirs]
        )
        return None
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float().div_(255)
