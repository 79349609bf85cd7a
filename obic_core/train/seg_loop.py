"""`obic train seg`: the resumable training loop of the DeepLab object/background segmenter.

Trained from scratch (no pretrained weights can be fetched here) on every image/mask pair
folder given with ``--data``; the committed validation split (resources/splits/masks_val.txt)
is never trained on and is what the in-loop IoU is measured on. Budget reasoning (a 2-core
CPU shared with the codec run) is in bench/segmentation.md: one thread, bf16 autocast and
channels_last, 160 px crops of images stored at 224 px on the long side, width 0.5.

Augmentation matters more than anything else when learning from ~2,900 pairs: random scale
(0.6–1.3), random crop with padding, horizontal flip, and brightness/contrast/saturation
jitter. Loss: BCE + soft Dice (Dice optimises the overlap that IoU measures and is not
swamped by the background pixels of small objects).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import signal
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from obic_core.datasets import Pair, find_pairs, list_images, refuse_evaluation_data, split_pairs
from obic_core.nn.precision import fast_bf16
from obic_core.segmentation.deeplab import NET_LONG_SIDE, DeepLabConfig, DeepLabV3, count_parameters
from obic_core.train.checkpoint import load_checkpoint, save_checkpoint

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


# ----------------------------------------------------------------------------- data


def resize_long(img: np.ndarray, side: int, nearest: bool = False) -> np.ndarray:
    h, w = img.shape[:2]
    s = side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return cv2.resize(img, size, interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_AREA)


def voc_pairs(folder: Path) -> list[Pair]:
    """Pairs of a VOC-layout folder (JPEGImages/ + SegmentationClass/)."""
    masks = {p.stem: p for p in list_images(folder / "SegmentationClass")}
    return [
        Pair(f"{folder.name}/{p.stem}", p, masks[p.stem]) for p in list_images(folder / "JPEGImages") if p.stem in masks
    ]


def load_pair(pair: Pair, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Image resized to ``side`` and its mask (0 background, 1 object, 255 ignore)."""
    img = cv2.cvtColor(cv2.imread(str(pair.image), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    with Image.open(pair.mask) as im:
        raw = np.asarray(im)
    if raw.ndim == 3:
        raw = raw[..., 0]
    if "SegmentationClass" in pair.mask.parts:
        mask = np.where(raw == IGNORE, IGNORE, raw > 0).astype(np.uint8)
    else:
        mask = (raw > 127).astype(np.uint8)
    if mask.shape != img.shape[:2]:
        mask = cv2.resize(mask, img.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    return resize_long(img, side), resize_long(mask, side, nearest=True)


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


class SegSampler:
    """Augmented training crops from pairs preloaded (at ``side`` px) into RAM."""

    def __init__(self, samples: list[tuple[np.ndarray, np.ndarray]], crop: int, seed: int) -> None:
        self.samples, self.crop = samples, crop
        self.rng = np.random.default_rng(seed)

    def _one(self, img: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rng, c = self.rng, self.crop
        s = rng.uniform(0.6, 1.3)
        h, w = img.shape[:2]
        size = (max(8, round(w * s)), max(8, round(h * s)))
        img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
        h, w = img.shape[:2]
        if h < c or w < c:  # pad with mean gray / ignore so padding is never "background"
            ph, pw = max(0, c - h), max(0, c - w)
            top, left = int(rng.integers(0, ph + 1)), int(rng.integers(0, pw + 1))
            img = cv2.copyMakeBorder(img, top, ph - top, left, pw - left, cv2.BORDER_CONSTANT, value=(124, 116, 104))
            mask = cv2.copyMakeBorder(mask, top, ph - top, left, pw - left, cv2.BORDER_CONSTANT, value=IGNORE)
            h, w = img.shape[:2]
        y0, x0 = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
        img, mask = img[y0 : y0 + c, x0 : x0 + c], mask[y0 : y0 + c, x0 : x0 + c]
        if rng.random() < 0.5:
            img, mask = img[:, ::-1], mask[:, ::-1]
        img = img.astype(np.float32)
        gray = img.mean(axis=2, keepdims=True)
        img = gray + (img - gray) * rng.uniform(0.7, 1.3)  # saturation
        img = (img - img.mean()) * rng.uniform(0.75, 1.25) + img.mean() + rng.uniform(-20, 20)
        return np.clip(img, 0, 255), np.ascontiguousarray(mask)

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        imgs, masks = zip(
            *(self._one(*self.samples[int(self.rng.integers(len(self.samples)))]) for _ in range(n)), strict=True
        )
        x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).div_(255)
        return x.contiguous(memory_format=torch.channels_last), torch.from_numpy(np.stack(masks)).unsqueeze(1)


# ----------------------------------------------------------------------------- loss / eval


def seg_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE + soft Dice over valid (non-ignored) pixels."""
    valid = (target != IGNORE).float()
    t = (target == 1).float()
    bce = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
    bce = (bce * valid).sum() / valid.sum().clamp_min(1)
    p = torch.sigmoid(logits) * valid
    inter = (p * t).sum(dim=(1, 2, 3))
    dice = 1 - (2 * inter + 1) / (p.sum(dim=(1, 2, 3)) + (t * valid).sum(dim=(1, 2, 3)) + 1)
    return bce + dice.mean()


def train_step(
    model: DeepLabV3, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, bf16: bool = True
) -> float:
    """One optimisation step; returns the loss (used by the loop and the tests)."""
    model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16 and x.device.type == "cpu"):
        logits = model(x)
    loss = seg_loss(logits.float(), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    return float(loss.item())


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
    """Linear warm-up, then poly(0.9) decay over the steps-or-minutes budget."""
    prog = step / args.steps
    if args.minutes:
        prog = max(prog, wall_s / (args.minutes * 60))
    warm = min(1.0, (step + 1) / 200)
    return args.lr * warm * max(0.0, 1 - min(prog, 1.0)) ** 0.9 + 1e-6


def run(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(max(1, args.threads))
    cv2.setNumThreads(1)
    torch.manual_seed(args.seed)
    bf16 = not args.no_bf16 and fast_bf16("cpu")
    run_dir, last = args.run_dir, args.run_dir / "last.safetensors"
    meta = {"step": 0, "wall_s": 0.0, "best_iou": None, "history": []}
    config = DeepLabConfig(width=args.width, decoder=not args.no_decoder)
    if args.resume and last.exists():
        from safetensors import safe_open

        with safe_open(str(last), "pt") as f:
            config = DeepLabConfig.from_dict(json.loads(f.metadata()["meta"])["config"])
    model = DeepLabV3(config).to(memory_format=torch.channels_last)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr
    )
    if args.resume and last.exists():
        meta = load_checkpoint(last, model, opt)
        log.info("resumed from %s at step %d (%.1f min trained)", last, meta["step"], meta["wall_s"] / 60)
    train_pairs, val_pairs = gather_pairs(args.data)
    t0 = time.time()
    train = [load_pair(p, args.long_side) for p in train_pairs]
    val = [load_pair(p, args.long_side) for p in val_pairs]
    log.info(
        "%d training pairs, %d validation pairs (loaded in %.0f s); model %.2f M parameters",
        len(train),
        len(val),
        time.time() - t0,
        count_parameters(model) / 1e6,
    )
    sampler = SegSampler(train, args.crop, seed=args.seed * 1000 + meta["step"])
    run_dir.mkdir(parents=True, exist_ok=True)
    csv_path = run_dir / "log.csv"
    new_csv = not csv_path.exists()
    csv_file = open(csv_path, "a", newline="")
    writer = csv.writer(csv_file)
    if new_csv:
        writer.writerow(["step", "wall_s", "loss", "lr", "val_iou"])
    stop = {"flag": False}

    def on_signal(signum, frame):
        stop["flag"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    from tqdm import tqdm

    t_start = t_ckpt = time.time()
    wall0 = meta["wall_s"]
    step = meta["step"]
    bar = tqdm(total=args.steps, initial=step, dynamic_ncols=True, mininterval=10, file=sys.stderr)
    ema = None

    def wall() -> float:
        return wall0 + time.time() - t_start

    def checkpoint() -> None:
        meta["wall_s"] = wall()
        save_checkpoint(last, model, opt, {**meta, "config": config.to_dict(), "args": vars_json(args)})

    while step < args.steps and not stop["flag"]:
        if args.minutes and wall() > args.minutes * 60:
            break
        lr = lr_at(args, step, wall())
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = sampler.batch(args.batch)
        loss = train_step(model, opt, x, y, bf16)
        step += 1
        meta["step"] = step
        ema = loss if ema is None else 0.98 * ema + 0.02 * loss
        bar.update(1)
        bar.set_postfix(loss=f"{ema:.3f}", lr=f"{lr:.1e}", best=meta["best_iou"], refresh=False)
        row = [step, round(wall(), 1), round(loss, 4), f"{lr:.2e}", ""]
        last_step = step >= args.steps or (args.minutes and wall() > args.minutes * 60)
        if val and (step % args.val_every == 0 or last_step):
            v = validate(model, val, bf16)
            row[4] = v["iou"]
            meta["history"].append({"step": step, "wall_s": round(wall(), 1), **v})
            log.info("step %d validation IoU %.4f (%d pairs)", step, v["iou"], v["n"])
            if meta["best_iou"] is None or v["iou"] > meta["best_iou"]:
                meta["best_iou"] = v["iou"]
                export(model, config, args, meta, v, len(train))
            checkpoint()
            t_ckpt = time.time()
        writer.writerow(row)
        if step % 50 == 0:
            csv_file.flush()
        if time.time() - t_ckpt > args.ckpt_minutes * 60:
            checkpoint()
            t_ckpt = time.time()
    checkpoint()
    csv_file.close()
    bar.close()
    log.info("stopped at step %d (best validation IoU %s); checkpoint %s", step, meta["best_iou"], last)


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
        "loss": "BCE + soft Dice",
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
        },
        "validation": {"set": "resources/splits/masks_val.txt", "resolution": f"{args.long_side} px long side", **val},
        "command": "obic train seg "
        + " ".join(sys.argv[sys.argv.index("seg") + 1 :] if "seg" in sys.argv else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    save_weights(model.state_dict(), args.export, card)
    log.info("exported weights to %s (validation IoU %.4f)", args.export, val["iou"])
