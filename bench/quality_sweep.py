"""Issue 2, must-show 3: raise the object quality with the background fixed, on a Kodak photo
with a hand-drawn mask (the two parrots of kodim23, polygons below).

Expected: object bytes and object-region PSNR rise; background bytes stay within a few percent
(the background layer is coded independently; only its hyper/latent positions next to the
object boundary see different context, and the mask is identical).

    python bench/quality_sweep.py --out bench/results/quality_sweep.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from obic_core import codec
from obic_core.evaluation import metrics
from obic_core.imageio import read_image

PARROTS = [
    [
        (75, 250),
        (90, 200),
        (140, 175),
        (200, 175),
        (250, 210),
        (275, 280),
        (300, 380),
        (370, 420),
        (395, 511),
        (130, 511),
        (150, 380),
        (140, 330),
        (120, 300),
        (75, 290),
    ],
    [
        (400, 160),
        (440, 120),
        (520, 110),
        (600, 130),
        (660, 200),
        (700, 260),
        (767, 300),
        (767, 511),
        (490, 511),
        (475, 370),
        (480, 300),
        (450, 300),
        (410, 240),
    ],
]


def parrot_mask(width: int = 768, height: int = 512) -> np.ndarray:
    im = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(im)
    for poly in PARROTS:
        draw.polygon(poly, fill=255)
    return np.asarray(im) > 0


def sweep(image: np.ndarray, mask: np.ndarray, background_q: float, object_qs: list[float]) -> list[dict]:
    rows = []
    for q in object_qs:
        data = codec.encode(image, mask, codec.EncodeSettings(q, background_q, device="cpu"))
        lay = codec.inspect(data)
        dec = codec.decode(data, device="cpu").image
        rows.append(
            {
                "object_quality": q,
                "background_quality": background_q,
                "file_bytes": lay.file_bytes,
                "bpp": round(lay.bpp, 4),
                "object_bytes": lay.layers["object"].bytes,
                "background_bytes": lay.layers["background"].bytes,
                "object_psnr": round(metrics.psnr(image, dec, mask), 3),
                "background_psnr": round(metrics.psnr(image, dec, ~mask), 3),
            }
        )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", type=Path, default=Path("../shared/data/kodak/kodim23.png"))
    ap.add_argument("--background-quality", type=float, default=0.3)
    ap.add_argument("--out", type=Path, default=Path("bench/results/quality_sweep.json"))
    args = ap.parse_args()
    image = read_image(args.image).pixels
    mask = parrot_mask(image.shape[1], image.shape[0])
    rows = sweep(image, mask, args.background_quality, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    bkg = [r["background_bytes"] for r in rows]
    summary = {
        "image": args.image.name,
        "mask_fraction": round(float(mask.mean()), 3),
        "model_id": codec.load_codec(device="cpu").model_id,
        "background_bytes_spread_pct": round(100 * (max(bkg) - min(bkg)) / max(bkg), 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")
    print(json.dumps(summary))
    for r in rows:
        print(r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
