"""`obic train codec`: the resumable training loop of the LearntOBIC codec.

Loss (paper form): L = Λ·(1 − MS-SSIM(x̂, x)) + a(q_bkg)·R_bkg + a(q_obj)·R_obj with rates
in bpp, Λ = 64 and a(q) = 512^(1−q) (see :func:`obic_core.nn.model.rate_weight`). The two
qualities are drawn independently per image from the K trained levels, so one model learns
the whole (object × background) quality plane. ``--distortion mse`` swaps the distortion
for Λ_mse·MSE (PSNR-oriented variant).

The default MS-SSIM loss also carries an MSE term (MS-SSIM alone lets colours drift). Its
weight can grow with the quality of the layer a pixel belongs to, w(q) = w·r^q
(``--mse-weight w --mse-top-ratio r``): MS-SSIM keeps the say at low rates, where it matches
what people see, while high-quality layers — the object at q 0.8 — are also pushed towards
pixel fidelity, which is what object-region PSNR and a user zooming into the object measure.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from pytorch_msssim import ms_ssim

from obic_core.masking import HYPER_STRIDE, LATENT_STRIDE, latent_mask_from_pixels
from obic_core.nn.memory_layout import channels_last
from obic_core.nn.model import DISTORTION_WEIGHT, RATE_RATIO, LearntOBIC, ModelConfig, rate_weight
from obic_core.nn.precision import fast_bf16
from obic_core.rules import MSE_TERM_WEIGHT, MSE_TOP_RATIO
from obic_core.train.checkpoint import load_checkpoint, save_checkpoint
from obic_core.train.data import CropSampler, codec_validation_images
from obic_core.train.quality_maps import QualityMapSampler
from obic_core.train.run_log import RunLog
from obic_core.train.schedule import budget_progress, cosine
from obic_core.train.stop_request import StopRequest
from obic_core.weights import DEFAULT_CODEC, save_weights

log = logging.getLogger("obic.train")
#: the run's final weights (model only, fp16, with card), written to the run folder when it stops
FINAL_EXPORT = "final.safetensors"
MSE_WEIGHT = 3000.0  # Λ for --distortion mse (≈ λ=0.046 on 255² MSE at q = 1)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--photos", nargs="*", type=Path, default=[], help="folders of photos")
    p.add_argument(
        "--pairs", nargs="*", type=Path, default=[], help="folders with images/ and masks/ (validation split excluded)"
    )
    p.add_argument("--run-dir", type=Path, default=Path("runs/codec"))
    p.add_argument("--steps", type=int, default=100_000, help="stop after this many total steps")
    p.add_argument("--minutes", type=float, default=0, help="stop after this many minutes (0: no limit)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--lr-drop-at", type=int, default=0, help="step after which lr is ×0.2 (0: never)")
    p.add_argument(
        "--lr-end",
        type=float,
        default=0.0,
        help="anneal: cosine from --lr down to this over the rest of the run (to --steps or --minutes, "
        "whichever comes first); the tail's start is kept in the checkpoint, so --resume continues it. "
        "At a flat validation score a decayed lr still pays, where a constant one only wanders (0: off)",
    )
    p.add_argument("--distortion", choices=["ms-ssim", "mse"], default="ms-ssim")
    # defaults = the recipe of the shipped weights, so `--init-from` them continues the same loss
    p.add_argument(
        "--mse-weight",
        type=float,
        default=MSE_TERM_WEIGHT,
        help="weight·MSE added to the MS-SSIM loss (at q = 0): MS-SSIM alone ignores "
        "colour shifts, and early in training the model drops colour entirely",
    )
    p.add_argument(
        "--mse-top-ratio",
        type=float,
        default=MSE_TOP_RATIO,
        help="r: a layer at quality q weighs its pixels' MSE by mse_weight·r^q (1: one weight for the whole image)",
    )
    p.add_argument(
        "--binary-q-p",
        type=float,
        default=0.5,
        help="share of crops trained on one quality per layer (the paper's two-level case); "
        "the rest get a random smooth per-block quality map (blobs, ramps, constants)",
    )
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--no-bf16",
        action="store_true",
        help="train the transforms in fp32 (automatic where the device has no native bf16)",
    )
    p.add_argument("--resume", action="store_true", help="continue from run-dir/last.safetensors")
    p.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="start a new run from exported weights (e.g. the shipped ones): run folders "
        "are not in git, so a new session continues training this way",
    )
    p.add_argument("--val-every", type=int, default=500)
    p.add_argument("--ckpt-minutes", type=float, default=4.0)
    p.add_argument(
        "--export", type=Path, default=DEFAULT_CODEC, help="where the best weights are exported (model only, fp16)"
    )
    p.add_argument(
        "--no-compile",
        action="store_true",
        help="run the transforms eagerly; by default g_a and g_s go through torch.compile, which "
        "made a step 13 %% faster on one CPU thread (docs/training.md) and costs ≈1 min once",
    )
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--N", type=int, default=ModelConfig.N)
    p.add_argument("--M", type=int, default=ModelConfig.M)
    p.add_argument("--Nh", type=int, default=ModelConfig.Nh)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def layer_mse_weight(q, mse_weight: float, top_ratio: float):
    """w·r^q: the MSE weight of a layer coded at quality q (tensor or float)."""
    return mse_weight * top_ratio**q


def mse_weight_map(q_map: torch.Tensor, size: tuple[int, int], mse_weight: float, top_ratio: float) -> torch.Tensor:
    """(B, 1, H, W) MSE weight of each pixel: w·r^q of the 16×16 block it is coded in.

    The quality comes from the block, not the pixel, because the block decides which quality
    a pixel is reconstructed at (with a binary mask: the layer's quality).
    """
    q = F.interpolate(q_map, scale_factor=LATENT_STRIDE, mode="nearest")[..., : size[0], : size[1]]
    return layer_mse_weight(q, mse_weight, top_ratio)


def weighted_bpp(out: dict, npx: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(Σ a(q)·bits, Σ bits) per image in bpp: each block's rate weighed by its own quality.

    y bits sit on the latent grid and take their block's a(q); z bits sit on the 4× coarser
    hyper grid and take the mean a(q) of the 4×4 blocks they describe. With one quality per
    layer this is exactly a(q_bkg)·R_bkg + a(q_obj)·R_obj.
    """
    a_y = rate_weight(out["q_map"])
    a_z = F.avg_pool2d(a_y, HYPER_STRIDE)
    weighted = total = torch.zeros((), device=a_y.device)  # 0-dim: takes the bits' dtype and shape
    for maps in out["bit_maps"].values():
        weighted = weighted + (a_y * maps["y"]).sum(dim=(1, 2, 3)) + (a_z * maps["z"]).sum(dim=(1, 2, 3))
        total = total + maps["y"].sum(dim=(1, 2, 3)) + maps["z"].sum(dim=(1, 2, 3))
    return weighted / npx, total / npx


def loss_terms(
    model,
    x,
    pixel_mask,
    q_obj,
    q_bkg,
    distortion: str,
    bf16: bool,
    mse_weight: float = 0.0,
    mse_top_ratio: float = 1.0,
    q_map: torch.Tensor | None = None,
) -> dict:
    """The training loss for one batch; ``q_map`` (B,1,h,w) replaces the two layer qualities."""
    lat = latent_mask_from_pixels(pixel_mask)
    out = model(x, lat, q_obj, q_bkg, noise=True, bf16=bf16, q_map=q_map)
    npx = x.shape[-2] * x.shape[-1]
    rate_term, bpp = weighted_bpp(out, npx)
    x_hat = out["x_hat"]
    if distortion == "mse":
        d = (x_hat - x).pow(2).mean(dim=(1, 2, 3))
        dist_term = MSE_WEIGHT * d
    else:
        d = 1 - ms_ssim(x_hat, x, data_range=1.0, size_average=False)
        dist_term = DISTORTION_WEIGHT * d
        if mse_weight:
            w = mse_weight_map(out["q_map"], x.shape[-2:], mse_weight, mse_top_ratio)
            dist_term = dist_term + (w * (x_hat - x).pow(2).mean(dim=1, keepdim=True)).mean(dim=(1, 2, 3))
    loss = dist_term + rate_term
    return {"loss": loss.mean(), "bpp": bpp.mean(), "d": d.mean()}


@torch.no_grad()
def validate(
    model: LearntOBIC, images: torch.Tensor, device: torch.device, mse_weight: float = 0.0, mse_top_ratio: float = 1.0
) -> dict:
    """Hard-rounded rate estimate and MS-SSIM in single-layer mode at q = 0, 0.5, 1."""
    model.eval()
    x = images.to(device)
    full = torch.ones(x.shape[0], 1, x.shape[2] // 16, x.shape[3] // 16, device=device)
    res: dict[str, Any] = {}
    score = 0.0
    for q in (0.0, 0.5, 1.0):
        qt = torch.full((x.shape[0],), q, device=device)
        out = model(x, full, qt, qt, noise=False)
        bits = sum(v["y"] + v["z"] for v in out["bits"].values())
        bpp = (bits / (x.shape[2] * x.shape[3])).mean().item()
        ms = ms_ssim(out["x_hat"].clamp(0, 1), x, data_range=1.0).item()
        mse = (out["x_hat"].clamp(0, 1) - x).pow(2).mean().item()
        res[f"q{q:g}"] = {
            "bpp": round(bpp, 4),
            "ms_ssim": round(ms, 4),
            "psnr": round(-10 * torch.log10(torch.tensor(mse)).item(), 2),
        }
        score += (
            DISTORTION_WEIGHT * (1 - ms) + layer_mse_weight(q, mse_weight, mse_top_ratio) * mse + rate_weight(q) * bpp
        )
    res["score"] = round(score / 3, 4)
    model.train()
    return res


def lr_now(args: argparse.Namespace, meta: dict[str, Any], step: int, wall_s: float) -> float:
    """The learning rate at ``step``: constant (with the optional ×0.2 drop), or the cosine tail.

    The tail's progress is the larger of its step and its wall-clock share, so a run that is slowed
    by a busy machine still ends its anneal inside the minutes it was given.
    """
    tail = meta.get("tail") if args.lr_end else None
    if tail is None:
        return args.lr * (0.2 if args.lr_drop_at and step >= args.lr_drop_at else 1.0)
    prog = budget_progress(step - tail["step"], tail["steps"] - tail["step"], wall_s - tail["wall_s"], tail["minutes"])
    return cosine(args.lr, args.lr_end, prog)


def run(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = 0
    device = pick_device(args.device)
    if distributed:
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend)
        rank = dist.get_rank()
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
            torch.cuda.set_device(device)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed + rank)
    bf16 = not args.no_bf16 and fast_bf16(device)
    log.info("transforms in %s on %s", "bf16 autocast" if bf16 else "fp32", device)
    config = ModelConfig(N=args.N, M=args.M, Nh=args.Nh)
    model = channels_last(LearntOBIC(config).to(device))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    run_dir = args.run_dir
    last = run_dir / "last.safetensors"
    meta: dict[str, Any] = {"step": 0, "wall_s": 0.0, "best_score": None, "history": []}
    if args.resume and last.exists():
        meta = load_checkpoint(last, model, opt)
        log.info("resumed from %s at step %d (%.1f min trained)", last, meta["step"], meta["wall_s"] / 60)
    elif args.init_from is not None:
        meta = init_from_weights(model, args.init_from, meta)
        log.info("initialised from %s (step %d of its training)", args.init_from, meta["step"])
    for g in opt.param_groups:
        g["lr"] = args.lr
    loss_id = [args.distortion, args.mse_weight, RATE_RATIO]
    if args.mse_top_ratio != 1.0:
        loss_id.append(args.mse_top_ratio)
    if meta.get("loss_id") != loss_id:
        meta["best_score"] = None  # a different loss makes earlier validation scores incomparable
        meta["loss_id"] = loss_id
    compiled = not args.no_compile and compile_transforms(model)
    train_model: torch.nn.Module = model  # the DDP wrapper when distributed
    if distributed:
        train_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    sampler = CropSampler(args.photos, args.pairs, crop=args.crop, seed=args.seed * 1000 + rank + meta["step"])
    qmaps = QualityMapSampler(binary_p=args.binary_q_p, seed=args.seed * 1000 + rank + meta["step"])
    val_images = codec_validation_images(args.photos) if rank == 0 and args.photos else None
    run_dir.mkdir(parents=True, exist_ok=True)

    stop = StopRequest()

    from tqdm import tqdm

    start_step = meta["step"]
    if args.lr_end and "tail" not in meta:
        meta["tail"] = {"step": start_step, "wall_s": meta["wall_s"], "steps": args.steps, "minutes": args.minutes}
    t_start = time.time()
    wall0 = meta["wall_s"]
    bar = tqdm(
        total=args.steps, initial=start_step, disable=rank != 0, dynamic_ncols=True, mininterval=5, file=sys.stderr
    )
    ema = None

    def checkpoint():
        meta["wall_s"] = wall0 + time.time() - t_start
        save_checkpoint(last, model, opt, {**meta, "config": config.to_dict(), "args": vars_json(args)})

    run_log = (
        RunLog(
            run_dir / "log.csv",
            ["step", "wall_s", "loss", "bpp", "dist", "lr", "val_bpp_q0.5", "val_msssim_q0.5", "val_score"],
            checkpoint,
            args.ckpt_minutes,
        )
        if rank == 0
        else None
    )

    step = start_step
    while step < args.steps and not stop.requested:
        if args.minutes and time.time() - t_start > args.minutes * 60:
            break
        lr = lr_now(args, meta, step, wall0 + time.time() - t_start)
        for g in opt.param_groups:
            g["lr"] = lr
        x, m = sampler.batch(args.batch)
        x = x.to(device).to(memory_format=torch.channels_last)
        m = m.to(device)
        q_map = qmaps.sample(latent_mask_from_pixels(m), config.levels).to(device)
        try:
            terms = loss_terms(
                train_model, x, m, None, None, args.distortion, bf16, args.mse_weight, args.mse_top_ratio, q_map=q_map
            )
            opt.zero_grad(set_to_none=True)
            terms["loss"].backward()  # inside: the compiled backward is built on its first call
        except Exception as exc:  # any compiler failure: fall back to eager, once
            if not compiled:
                raise
            log.warning("torch.compile failed (%s: %s); training eagerly", type(exc).__name__, exc)
            uncompile_transforms(model)
            compiled = False
            continue
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        meta["step"] = step
        vals = {k: v.item() for k, v in terms.items()}
        ema = vals if ema is None else {k: 0.98 * ema[k] + 0.02 * vals[k] for k in vals}
        if rank == 0:
            assert run_log is not None  # rank 0 opened the log
            bar.update(1)
            bar.set_postfix(
                loss=f"{ema['loss']:.3f}", bpp=f"{ema['bpp']:.3f}", d=f"{ema['d']:.4f}", lr=f"{lr:.1e}", refresh=False
            )
            row = [
                step,
                round(wall0 + time.time() - t_start, 1),
                round(vals["loss"], 4),
                round(vals["bpp"], 4),
                round(vals["d"], 5),
                lr,
                "",
                "",
                "",
            ]
            if val_images is not None and step % args.val_every == 0:
                v = validate(model, val_images, device, args.mse_weight, args.mse_top_ratio)
                row[6:9] = [v["q0.5"]["bpp"], v["q0.5"]["ms_ssim"], v["score"]]
                meta["history"].append({"step": step, **v})
                log.info("step %d validation %s", step, json.dumps(v))
                if meta["best_score"] is None or v["score"] < meta["best_score"]:
                    meta["best_score"] = v["score"]
                    export(model, config, args, meta, v)
                run_log.checkpoint()
            run_log.write(step, row)
    if run_log is not None:
        if val_images is not None and step > start_step:
            # after an annealed tail the last step, not the best-scored one, is usually the
            # candidate to ship (session 8); export it too, model only, beside the checkpoint
            export(
                model,
                config,
                args,
                meta,
                validate(model, val_images, device, args.mse_weight, args.mse_top_ratio),
                run_dir / FINAL_EXPORT,
            )
        run_log.close()
        bar.close()
        log.info("stopped at step %d; checkpoint %s", step, last)
    if distributed:
        dist.destroy_process_group()


def compile_transforms(model: LearntOBIC) -> bool:
    """Compile the two transforms in place (state-dict keys unchanged, so checkpoints and
    exported weights are the same files). The entropy models are left eager: compiling them
    too measured no faster (docs/training.md)."""
    if not hasattr(torch, "compile"):
        return False
    for sub in (model.g_a, model.g_s):
        sub.compile()
    return True


def uncompile_transforms(model: LearntOBIC) -> None:
    for sub in (model.g_a, model.g_s):
        sub._compiled_call_impl = None


def init_from_weights(model: LearntOBIC, path: Path, meta: dict) -> dict:
    """Load exported (fp16) weights; continue the step and wall-time counts of their card."""
    from obic_core.weights import load_weights

    loaded = load_weights(path)
    model.load_state_dict(loaded.state)
    return {
        **meta,
        "step": int(loaded.card.get("steps", 0)),
        "wall_s": float(loaded.card.get("wall_time_s", 0.0)),
        "init_from": loaded.id,
    }


def vars_json(args: argparse.Namespace) -> dict:
    return {
        k: (str(v) if isinstance(v, Path) else [str(i) for i in v] if isinstance(v, list) else v)
        for k, v in vars(args).items()
        if k != "func"
    }


def export(model: LearntOBIC, config: ModelConfig, args, meta: dict, val: dict, path: Path | None = None) -> None:
    """Write the current weights (fp16) + card to ``path`` (default ``--export``, the best so far)."""
    mse_term = (
        f"{args.mse_weight:g}*MSE"
        if args.mse_top_ratio == 1.0
        else f"{args.mse_weight:g}*{args.mse_top_ratio:g}^q*MSE (q of each pixel's layer)"
    )
    card = {
        "config": config.to_dict(),
        "kind": "codec",
        "distortion": args.distortion,
        "loss": f"64*(1-MS-SSIM) + {mse_term} + {RATE_RATIO:g}^(1-q_bkg)*R_bkg "
        f"+ {RATE_RATIO:g}^(1-q_obj)*R_obj (bpp; MSE on [0,1] RGB)"
        if args.distortion == "ms-ssim"
        else f"{MSE_WEIGHT}*MSE + {RATE_RATIO:g}^(1-q)*R per layer",
        "steps": meta["step"],
        "wall_time_s": round(meta.get("wall_s", 0.0), 1),
        "continued_from": meta.get("init_from"),
        "batch": args.batch,
        "crop": args.crop,
        "lr": args.lr,
        **({"lr_tail": {"to": args.lr_end, **meta["tail"]}} if args.lr_end and "tail" in meta else {}),
        "data": {
            "photos": [str(p) for p in args.photos],
            "pairs": [str(p) for p in args.pairs],
            "excluded": "resources/splits/codec_val.txt, resources/splits/masks_val.txt, Kodak",
        },
        "validation": {
            "set": "resources/splits/codec_val.txt (8 photos, 256x256 centre crops), "
            "single layer, hard-rounded rate estimate",
            **val,
        },
        "command": "obic " + " ".join(sys.argv[1:]),
        "device": str(next(model.parameters()).device),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    path = path or args.export
    save_weights(model.state_dict(), path, card)
    log.info("exported weights to %s", path)
