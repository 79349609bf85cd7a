"""`obic train seg`: the resumable training loop of the DeepLab object/background segmenter.

Trained from scratch or warm-started (``--init-from``; no pretrained weights can be fetched
here) on every image/mask pair folder given with ``--data``; the committed validation split
(resources/splits/masks_val.txt) is never trained on and is what the in-loop IoU (and the
choice of the exported step) is measured on. Budget reasoning (a 2-core
CPU shared with the codec run) is in bench/segmentation.md: one thread, bf16 autocast and
channels_last, 160 px crops of images stored at 224 px on the long side, width 0.5.

Augmentation matters more than anything else when learning from a few thousand pairs of one
source, and it is what lets the network carry over to sources it has never seen (the number
that counts, see bench/segmentation.md): log-uniform random scale (0.5–1.6), small rotations,
random crop with padding, horizontal flip, brightness/contrast/saturation/hue jitter, random
grayscale and Gaussian blur. Loss: BCE + Lovász hinge (a convex surrogate of the per-image IoU,
Berman et al., CVPR 2018, which sharpens boundaries more than soft Dice) — ``--loss bce+dice``
keeps the older recipe. Schedule: linear warm-up then cosine decay over the steps-or-minutes
budget. ``--init-from`` warm-starts from exported weights, ``--holdout`` names whole sources that
are never trained on and are scored at every validation, so the checkpoint can be judged on
photos from elsewhere; a weights-only snapshot is kept per validation (``snap_<step>.safetensors``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from obic_core.datasets import Pair, find_pairs, list_images, refuse_evaluation_data, split_pairs
from obic_core.imageio import read_image
from obic_core.nn.memory_layout import channels_last
from obic_core.nn.precision import fast_bf16
from obic_core.segmentation.deeplab import NET_LONG_SIDE, DeepLabConfig, DeepLabV3, count_parameters
from obic_core.train.checkpoint import load_checkpoint, save_checkpoint
from obic_core.train.run_log import RunLog
from obic_core.train.schedule import budget_progress, cosine
from obic_core.train.stop_request import StopRequest

log = logging.getLogger("obic.train.seg")
DEFAULT_EXPORT = Path(__file__).resolve().parents[2] / "resources" / "weights" / "deeplab_r34.safetensors"
IGNORE = 255  # VOC "void" pixels: no loss there


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        nargs="+",
        type=Path,
        required=True,
        help="folders with images/ + masks/ (or VOC JPEGImages/ + SegmentationClass/)",
    )
    p.add_argument("--run-dir", type=Path, default=Path("runs/seg"))
    p.add_argument("--steps", type=int, default=6000, help="total steps (the lr schedule's length)")
    p.add_argument(
        "--minutes",
        type=float,
        default=0,
        help="wall-time budget in minutes (0: none); the lr schedule follows whichever of "
        "steps or minutes runs out first, so a slow machine still ends annealed",
    )
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=160)
    p.add_argument(
        "--long-side",
        type=int,
        default=NET_LONG_SIDE,
        help="images are stored resized to this long side (also the inference size)",
    )
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--width", type=float, default=DeepLabConfig.width)
    p.add_argument("--no-decoder", action="store_true", help="plain DeepLabV3 head (×16 upsampling)")
    p.add_argument("--no-bf16", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--resume", action="store_true", help="continue from run-dir/last.safetensors")
    p.add_argument("--val-every", type=int, default=500)
    p.add_argument("--ckpt-minutes", type=float, default=4.0)
    p.add_argument("--export", type=Path, default=DEFAULT_EXPORT)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--holdout",
        nargs="*",
        type=Path,
        default=[],
        help="pair folders never trained on, scored at every validation (out-of-source check)",
    )
    p.add_argument("--init-from", type=Path, help="warm start from exported segmentation weights (its card's config)")
    p.add_argument("--loss", choices=("bce+lovasz", "bce+dice"), default="bce+lovasz")
    p.add_argument("--schedule", choices=("cosine", "poly"), default="cosine")
    p.add_argument("--warmup", type=int, default=200, help="linear warm-up steps")
    p.add_argument("--aug", choices=("strong", "basic"), default="strong", help="basic: the pre-2026-12 recipe")
    p.add_argument(
        "--paste",
        type=float,
        default=0.0,
        help="share of crops that get 1–2 objects copy-pasted from other training photos (multi-object scenes)",
    )


# ----------------------------------------------------------------------------- data


def resize_long(img: np.ndarray, side: int, nearest: bool = False) -> np.ndarray:
    h, w = img.shape[:2]
    s = side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    # INTER_NEAREST_EXACT samples at pixel centres; plain INTER_NEAREST shifts the mask by up to
    # half a pixel against an INTER_AREA / INTER_LINEAR image.
    return cv2.resize(img, size, interpolation=cv2.INTER_NEAREST_EXACT if nearest else cv2.INTER_AREA)


def voc_pairs(folder: Path) -> list[Pair]:
    """Pairs of a VOC-layout folder (JPEGImages/ + SegmentationClass/)."""
    masks = {p.stem: p for p in list_images(folder / "SegmentationClass")}
    return [
        Pair(f"{folder.name}/{p.stem}", p, masks[p.stem]) for p in list_images(folder / "JPEGImages") if p.stem in masks
    ]


def load_pair(pair: Pair, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Image resized to ``side`` and its mask (0 background, 1 object, 255 ignore)."""
    img = read_image(pair.image).pixels  # the project's one reader: a bad file is named in the error
    with Image.open(pair.mask) as im:
        raw = np.asarray(im)
    if raw.ndim == 3:
        raw = raw[..., 0]
    mask: np.ndarray
    if "SegmentationClass" in pair.mask.parts:
        mask = np.where(raw == IGNORE, IGNORE, raw > 0).astype(np.uint8)
    else:
        mask = (raw > 127).astype(np.uint8)
    if mask.shape != img.shape[:2]:
        mask = cv2.resize(mask, img.shape[1::-1], interpolation=cv2.INTER_NEAREST_EXACT)
    return resize_long(img, side), resize_long(mask, side, nearest=True)


def folder_pairs(d: Path) -> list[Pair]:
    refuse_evaluation_data(d)
    d = Path(d)
    pairs = voc_pairs(d) if (d / "SegmentationClass").is_dir() else find_pairs(d)
    if not pairs:
        raise ValueError(f"{d}: no image/mask pairs (expected images/ and masks/)")
    return pairs


def holdout_pairs(folders: list[Path], train_folders: list[Path]) -> list[Pair]:
    """Every pair of the held-out sources; a folder may not be both trained on and held out."""
    train_dirs = {Path(d).resolve() for d in train_folders}
    out = []
    for d in folders:
        if Path(d).resolve() in train_dirs:
            raise ValueError(f"{d}: given both in --data and --holdout")
        out += folder_pairs(d)
    return out


def gather_pairs(folders: list[Path]) -> tuple[list[Pair], list[Pair]]:
    train, val = [], []
    for d in folders:
        refuse_evaluation_data(d)
        d = Path(d)
        pairs = voc_pairs(d) if (d / "SegmentationClass").is_dir() else find_pairs(d)
        if not pairs:
            raise ValueError(f"{d}: no image/mask pairs (expected images/ and masks/)")
        t, v = split_pairs(pairs)
        train += t
        val += v
    return train, val


PAD_RGB = (124, 116, 104)  # the ImageNet mean: padding looks like "nothing", never like an object


class SegSampler:
    """Augmented training crops from pairs preloaded (at ``side`` px) into RAM.

    Every geometric step is applied to image and mask together (nearest-neighbour for the mask,
    ignore label for pixels that come from padding or rotation), so they stay aligned.
    """

    def __init__(
        self,
        samples: list[tuple[np.ndarray, np.ndarray]],
        crop: int,
        seed: int,
        strong: bool = True,
        paste_p: float = 0.0,
    ) -> None:
        self.samples, self.crop, self.strong, self.paste_p = samples, crop, strong, paste_p
        self.rng = np.random.default_rng(seed)

    def _paste(self, img: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Copy-paste: 1–2 objects cut from other training photos, pasted into the crop.

        Salient-object data has one object per photo; photos elsewhere often have several, and
        their masks are the union of all of them (COCO). Pasting teaches the net that a second,
        third object is foreground too (Ghiasi et al., CVPR 2021 "Simple Copy-Paste"). The pasted
        object's edge is feathered inwards (σ ≈ 1 px) so a hard cut-out seam is not what gives it away
        (Dwibedi et al., ICCV 2017); its label is the hard mask, and it occludes what lies below.
        """
        rng, c = self.rng, self.crop
        img, mask = img.copy(), mask.copy()
        for _ in range(1 + int(rng.random() < 0.4)):
            d_img, d_mask = self.samples[int(rng.integers(len(self.samples)))]
            ys, xs = np.nonzero(d_mask == 1)
            if len(ys) < 16:
                continue
            y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
            obj, om = d_img[y0:y1, x0:x1], (d_mask[y0:y1, x0:x1] == 1).astype(np.float32)
            s = rng.uniform(0.2, 0.65) * c / max(y1 - y0, x1 - x0)
            size = (max(4, round((x1 - x0) * s)), max(4, round((y1 - y0) * s)))
            obj = cv2.resize(obj, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
            om = cv2.resize(om, size, interpolation=cv2.INTER_LINEAR)
            if rng.random() < 0.5:
                obj, om = obj[:, ::-1], om[:, ::-1]
            h, w = om.shape
            # top-left may put up to a third of the object outside the crop
            ty = int(rng.integers(-h // 3, c - 2 * h // 3 + 1))
            tx = int(rng.integers(-w // 3, c - 2 * w // 3 + 1))
            sy0, sx0 = max(0, -ty), max(0, -tx)
            dy0, dx0 = max(0, ty), max(0, tx)
            hh, ww = min(h - sy0, c - dy0), min(w - sx0, c - dx0)
            if hh <= 0 or ww <= 0:
                continue
            hard = om[sy0 : sy0 + hh, sx0 : sx0 + ww] > 0.5
            # feathered inwards only: the donor's own background never leaks into the crop
            alpha = (cv2.GaussianBlur(hard.astype(np.float32), (0, 0), 1.0) * hard)[..., None]
            region = img[dy0 : dy0 + hh, dx0 : dx0 + ww].astype(np.float32)
            src = obj[sy0 : sy0 + hh, sx0 : sx0 + ww].astype(np.float32)
            img[dy0 : dy0 + hh, dx0 : dx0 + ww] = np.clip(alpha * src + (1 - alpha) * region + 0.5, 0, 255).astype(
                np.uint8
            )
            mask[dy0 : dy0 + hh, dx0 : dx0 + ww][hard] = 1
        return img, mask

    def _geometry(self, img: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rng, c = self.rng, self.crop
        s = float(np.exp(rng.uniform(np.log(0.5), np.log(1.6)))) if self.strong else rng.uniform(0.6, 1.3)
        h, w = img.shape[:2]
        angle = rng.uniform(-15, 15) if self.strong and rng.random() < 0.3 else 0.0
        if angle:
            m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, s)
            size = (max(8, round(w * s)), max(8, round(h * s)))
            m[:, 2] += (size[0] - w) / 2, (size[1] - h) / 2
            img = cv2.warpAffine(img, m, size, flags=cv2.INTER_LINEAR, borderValue=PAD_RGB)
            mask = cv2.warpAffine(mask, m, size, flags=cv2.INTER_NEAREST, borderValue=IGNORE)
        else:
            size = (max(8, round(w * s)), max(8, round(h * s)))
            img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
            mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST_EXACT)
        h, w = img.shape[:2]
        if h < c or w < c:  # pad with mean gray / ignore so padding is never "background"
            ph, pw = max(0, c - h), max(0, c - w)
            top, left = int(rng.integers(0, ph + 1)), int(rng.integers(0, pw + 1))
            img = cv2.copyMakeBorder(img, top, ph - top, left, pw - left, cv2.BORDER_CONSTANT, value=PAD_RGB)
            mask = cv2.copyMakeBorder(mask, top, ph - top, left, pw - left, cv2.BORDER_CONSTANT, value=IGNORE)
            h, w = img.shape[:2]
        y0, x0 = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
        img, mask = img[y0 : y0 + c, x0 : x0 + c], mask[y0 : y0 + c, x0 : x0 + c]
        if rng.random() < 0.5:
            img, mask = img[:, ::-1], mask[:, ::-1]
        return np.ascontiguousarray(img), np.ascontiguousarray(mask)

    def _photometric(self, img: np.ndarray) -> np.ndarray:
        rng = self.rng
        if self.strong and rng.random() < 0.3:  # hue shift (OpenCV hue is 0..179)
            hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
            hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + int(rng.integers(-12, 13))) % 180).astype(np.uint8)
            img = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        if self.strong and rng.random() < 0.2:
            img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.6))
        x = img.astype(np.float32)
        gray = x.mean(axis=2, keepdims=True)
        if self.strong and rng.random() < 0.1:
            x = np.repeat(gray, 3, axis=2)
        else:
            lo, hi = (0.6, 1.4) if self.strong else (0.7, 1.3)
            x = gray + (x - gray) * rng.uniform(lo, hi)  # saturation
        lo, hi = (0.65, 1.35) if self.strong else (0.75, 1.25)
        x = (x - x.mean()) * rng.uniform(lo, hi) + x.mean() + rng.uniform(-25, 25)
        return np.clip(x, 0, 255)

    def _one(self, img: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        img, mask = self._geometry(img, mask)
        if self.paste_p and self.rng.random() < self.paste_p:
            img, mask = self._paste(img, mask)
        return self._photometric(img), mask

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        imgs, masks = zip(
            *(self._one(*self.samples[int(self.rng.integers(len(self.samples)))]) for _ in range(n)), strict=True
        )
        x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).div_(255)
        return x.contiguous(memory_format=torch.channels_last), torch.from_numpy(np.stack(masks)).unsqueeze(1)


# ----------------------------------------------------------------------------- loss / eval


def lovasz_hinge(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Per-image binary Lovász hinge (Berman et al. 2018), averaged over the batch.

    The Lovász extension of the Jaccard loss, evaluated on hinge errors sorted in decreasing
    order; ignored pixels are dropped. An image with no valid pixel contributes 0.
    """
    losses = []
    for lg, t, v in zip(logits.flatten(1), target.flatten(1), valid.flatten(1), strict=True):
        lg, t = lg[v], t[v]
        if lg.numel() == 0:
            losses.append(logits.sum() * 0)
            continue
        signs = 2 * t - 1
        errors = 1 - lg * signs
        errors_sorted, perm = torch.sort(errors, descending=True)
        gt_sorted = t[perm]
        gts = gt_sorted.sum()
        inter = gts - gt_sorted.cumsum(0)
        union = gts + (1 - gt_sorted).cumsum(0)
        jaccard = 1 - inter / union
        jaccard = torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])
        losses.append(torch.dot(F.relu(errors_sorted), jaccard))
    return torch.stack(losses).mean()


def seg_loss(logits: torch.Tensor, target: torch.Tensor, kind: str = "bce+dice") -> torch.Tensor:
    """BCE + soft Dice or BCE + Lovász hinge over valid (non-ignored) pixels."""
    valid = (target != IGNORE).float()
    t = (target == 1).float()
    bce = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
    bce = (bce * valid).sum() / valid.sum().clamp_min(1)
    if kind == "bce+lovasz":
        return bce + lovasz_hinge(logits, t, valid > 0)
    if kind != "bce+dice":
        raise ValueError(f"unknown segmentation loss {kind!r}")
    p = torch.sigmoid(logits) * valid
    inter = (p * t).sum(dim=(1, 2, 3))
    dice = 1 - (2 * inter + 1) / (p.sum(dim=(1, 2, 3)) + (t * valid).sum(dim=(1, 2, 3)) + 1)
    return bce + dice.mean()


def train_step(
    model: DeepLabV3,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    bf16: bool = True,
    loss_kind: str = "bce+dice",
) -> float:
    """One optimisation step; returns the loss (used by the loop and the tests)."""
    model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16 and x.device.type == "cpu"):
        logits = model(x)
    loss = seg_loss(logits.float(), y, loss_kind)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    return float(loss.item())


def source_of(key: str) -> str:
    """The source a pair key belongs to ("saliency/0001" -> "saliency")."""
    return key.rsplit("/", 1)[0]


def validate_sources(
    model: DeepLabV3, groups: dict[str, list[tuple[np.ndarray, np.ndarray]]], bf16: bool
) -> dict[str, dict]:
    """:func:`validate` per named group of samples (empty groups skipped)."""
    return {name: validate(model, samples, bf16) for name, samples in groups.items() if samples}


@torch.no_grad()
def validate(model: DeepLabV3, samples: list[tuple[np.ndarray, np.ndarray]], bf16: bool) -> dict:
    """Mean foreground IoU (per image, then averaged) at the stored resolution."""
    model.eval()
    ious = []
    for img, mask in samples:
        x = torch.from_numpy(img).permute(2, 0, 1)[None].float().div_(255)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            pred = (model(x.contiguous(memory_format=torch.channels_last))[0, 0] > 0).numpy()
        valid = mask != IGNORE
        gt = (mask == 1) & valid
        pred &= valid
        union = (gt | pred).sum()
        ious.append(1.0 if union == 0 else (gt & pred).sum() / union)
    model.train()
    return {"iou": round(float(np.mean(ious)), 4), "n": len(ious)}


# ----------------------------------------------------------------------------- loop


def lr_at(args: argparse.Namespace, step: int, wall_s: float) -> float:
    """Linear warm-up, then cosine (or poly 0.9) decay over the steps-or-minutes budget."""
    prog = budget_progress(step, args.steps, wall_s, args.minutes)
    warm = min(1.0, (step + 1) / max(1, getattr(args, "warmup", 200)))
    if getattr(args, "schedule", "poly") == "cosine":
        return cosine(args.lr * warm, 0.0, prog) + 1e-6
    return args.lr * warm * max(0.0, 1 - prog) ** 0.9 + 1e-6


def run(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(max(1, args.threads))
    cv2.setNumThreads(1)
    torch.manual_seed(args.seed)
    bf16 = not args.no_bf16 and fast_bf16("cpu")
    run_dir, last = args.run_dir, args.run_dir / "last.safetensors"
    meta: dict[str, Any] = {"step": 0, "wall_s": 0.0, "best_iou": None, "history": []}
    config = DeepLabConfig(width=args.width, decoder=not args.no_decoder)
    init = None
    if args.init_from and not (args.resume and last.exists()):
        from obic_core.weights import load_weights

        init = load_weights(args.init_from)
        if init.card.get("kind", "segmentation") != "segmentation":
            raise ValueError(f"{args.init_from}: not segmentation weights")
        config = DeepLabConfig.from_dict(init.card.get("config", {}))
    if args.resume and last.exists():
        from safetensors import safe_open

        with safe_open(str(last), "pt") as f:
            config = DeepLabConfig.from_dict(json.loads(f.metadata()["meta"])["config"])
    model = DeepLabV3(config)
    if init is not None:
        model.load_state_dict({k: v.float() for k, v in init.state.items()})
        log.info("warm start from %s (%s)", args.init_from, init.card.get("id", "?"))
    model = channels_last(model)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr
    )
    if args.resume and last.exists():
        meta = load_checkpoint(last, model, opt)
        log.info("resumed from %s at step %d (%.1f min trained)", last, meta["step"], meta["wall_s"] / 60)
    train_pairs, val_pairs = gather_pairs(args.data)
    held = holdout_pairs(args.holdout, args.data)
    t0 = time.time()
    train = [load_pair(p, args.long_side) for p in train_pairs]
    val = [load_pair(p, args.long_side) for p in val_pairs]
    groups: dict[str, list] = {}
    for p, sample in zip(val_pairs, val, strict=True):
        groups.setdefault(source_of(p.key), []).append(sample)
    for p in held:
        groups.setdefault(f"holdout:{source_of(p.key)}", []).append(load_pair(p, args.long_side))
    log.info(
        "%d training pairs, %d validation pairs, %d held-out-source pairs (loaded in %.0f s); model %.2f M parameters",
        len(train),
        len(val),
        len(held),
        time.time() - t0,
        count_parameters(model) / 1e6,
    )
    sampler = SegSampler(
        train, args.crop, seed=args.seed * 1000 + meta["step"], strong=args.aug == "strong", paste_p=args.paste
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    stop = StopRequest()
    from tqdm import tqdm

    t_start = time.time()
    wall0 = meta["wall_s"]
    step = meta["step"]
    bar = tqdm(total=args.steps, initial=step, dynamic_ncols=True, mininterval=10, file=sys.stderr)
    ema = None

    def wall() -> float:
        return wall0 + time.time() - t_start

    def checkpoint() -> None:
        meta["wall_s"] = wall()
        save_checkpoint(last, model, opt, {**meta, "config": config.to_dict(), "args": vars_json(args)})

    run_log = RunLog(run_dir / "log.csv", ["step", "wall_s", "loss", "lr", "val_iou"], checkpoint, args.ckpt_minutes)

    while step < args.steps and not stop.requested:
        if args.minutes and wall() > args.minutes * 60:
            break
        lr = lr_at(args, step, wall())
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = sampler.batch(args.batch)
        loss = train_step(model, opt, x, y, bf16, args.loss)
        step += 1
        meta["step"] = step
        ema = loss if ema is None else 0.98 * ema + 0.02 * loss
        bar.update(1)
        bar.set_postfix(loss=f"{ema:.3f}", lr=f"{lr:.1e}", best=meta["best_iou"], refresh=False)
        row = [step, round(wall(), 1), round(loss, 4), f"{lr:.2e}", ""]
        last_step = step >= args.steps or (args.minutes and wall() > args.minutes * 60)
        if (val or held) and (step % args.val_every == 0 or last_step):
            per = validate_sources(model, groups, bf16)
            v = validate(model, val, bf16) if val else {"iou": None, "n": 0}
            row[4] = v["iou"]
            meta["history"].append({"step": step, "wall_s": round(wall(), 1), **v, "sources": per})
            log.info(
                "step %d validation IoU %s (%d pairs); %s",
                step,
                v["iou"],
                v["n"],
                ", ".join(f"{k} {d['iou']:.4f} ({d['n']})" for k, d in per.items()),
            )
            snapshot(model, run_dir / f"snap_{step:06d}.safetensors", config, meta["history"][-1])
            if v["iou"] is not None and (meta["best_iou"] is None or v["iou"] > meta["best_iou"]):
                meta["best_iou"] = v["iou"]
                meta["wall_s"] = wall()  # the card's wall time is that of the exported step
                export(model, config, args, meta, {**v, "sources": per}, len(train))
            run_log.checkpoint()
        run_log.write(step, row)
    run_log.close()
    bar.close()
    log.info("stopped at step %d (best validation IoU %s); checkpoint %s", step, meta["best_iou"], last)


def snapshot(model: DeepLabV3, path: Path, config: DeepLabConfig, val: dict) -> None:
    """Weights only (fp32), so any validated step can be exported or benchmarked later."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(path), metadata={"config": json.dumps(config.to_dict()), "val": json.dumps(val)})


def vars_json(args: argparse.Namespace) -> dict:
    return {
        k: (str(v) if isinstance(v, Path) else [str(i) for i in v] if isinstance(v, list) else v)
        for k, v in vars(args).items()
        if k != "func"
    }


def export(
    model: DeepLabV3, config: DeepLabConfig, args: argparse.Namespace, meta: dict, val: dict, n_train: int
) -> None:
    """Write the current weights as the shipped segmenter + model card (fp16)."""
    from obic_core.weights import save_weights

    card = {
        "config": config.to_dict(),
        "kind": "segmentation",
        "architecture": "DeepLabV3(+decoder) / ResNet-34 (BasicBlocks 3-4-6-3), output stride 16, ASPP",
        "parameters": count_parameters(model),
        "input": f"RGB in [0,1], resized to {args.long_side} px on the long side; output: 1 object logit",
        "loss": {"bce+dice": "BCE + soft Dice", "bce+lovasz": "BCE + Lovász hinge"}[getattr(args, "loss", "bce+dice")],
        "augmentation": getattr(args, "aug", "basic"),
        "schedule": getattr(args, "schedule", "poly"),
        "init_from": str(args.init_from) if getattr(args, "init_from", None) else None,
        "steps": meta["step"],
        "wall_time_s": round(meta.get("wall_s", 0.0), 1),
        "batch": args.batch,
        "crop": args.crop,
        "lr": args.lr,
        "bf16": not args.no_bf16 and fast_bf16("cpu"),
        "threads": args.threads,
        "data": {
            "folders": [str(p) for p in args.data],
            "train_pairs": n_train,
            "excluded": "resources/splits/masks_val.txt, Kodak",
            "holdout_sources": [str(p) for p in getattr(args, "holdout", [])],
        },
        "validation": {"set": "resources/splits/masks_val.txt", "resolution": f"{args.long_side} px long side", **val},
        "command": "obic train seg "
        + " ".join(sys.argv[sys.argv.index("seg") + 1 :] if "seg" in sys.argv else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    save_weights(model.state_dict(), args.export, card)
    log.info("exported weights to %s (validation IoU %.4f)", args.export, val["iou"])
