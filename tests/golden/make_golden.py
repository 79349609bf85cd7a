"""Regenerate the pinned `.obic` files and their decoded PNGs (run deliberately, then commit).

    python tests/golden/make_golden.py

The files are coded with a tiny, seeded random model committed beside them (``tiny.safetensors``,
N=8, M=16), so they pin the *format and the coding path*, not the shipped weights: they keep
decoding when the shipped weights are retrained. One file per format version and layer mode.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
WEIGHTS = HERE / "tiny.safetensors"


def golden_image() -> tuple[np.ndarray, np.ndarray]:
    """A 70×100 synthetic photo (sides not multiples of 64) and an elliptical object mask."""
    h, w = 70, 100
    yy, xx = np.mgrid[:h, :w]
    img = np.stack([(xx * 2.5) % 256, (yy * 3.5) % 256, 128 + 60 * np.sin(xx / 7.0) * np.cos(yy / 5.0)], axis=2).astype(
        np.uint8
    )
    mask = ((yy - 35) / 25.0) ** 2 + ((xx - 45) / 30.0) ** 2 < 1
    img[mask] = (img[mask] // 2 + np.array([120, 40, 20])).astype(np.uint8)
    return img, mask


def quality_map(h: int = 70, w: int = 100) -> np.ndarray:
    """Left half q = 1, right half q = 0."""
    q = np.zeros((h, w))
    q[:, : w // 2] = 1.0
    return q


CASES = {
    "v1_single.obic": {"mask": False, "qo": 0.6, "qb": 0.6},
    "v1_two_layers.obic": {"mask": True, "qo": 0.9, "qb": 0.1},
    "v1_full_mask.obic": {"mask": True, "qo": 0.7, "qb": 0.3, "full_mask": True},
    "v2_quality_map.obic": {"mask": True, "qo": 0.5, "qb": 0.5, "map": True},
}


def encode_case(name: str) -> bytes:
    from obic_core.codec import EncodeSettings, encode

    spec = CASES[name]
    img, mask = golden_image()
    settings = EncodeSettings(
        object_quality=spec["qo"],
        background_quality=spec["qb"],
        device="cpu",
        weights=str(WEIGHTS),
        store_full_mask=spec.get("full_mask", False),
        quality_map=quality_map() if spec.get("map") else None,
    )
    return encode(img, mask if spec["mask"] else None, settings)


def main() -> None:
    from obic_core.codec import decode, extract
    from obic_core.imageio import write_png
    from obic_core.nn.model import LearntOBIC, ModelConfig
    from obic_core.weights import save_weights

    if not WEIGHTS.exists():
        torch.manual_seed(1234)
        cfg = ModelConfig(N=8, M=16, Nh=8, levels=6, name="golden-tiny")
        save_weights(LearntOBIC(cfg).state_dict(), WEIGHTS, {"config": cfg.to_dict(), "kind": "codec"})
    manifest = {}
    files = {}
    for name in CASES:
        files[name] = encode_case(name)
    files["v1_object_only.obic"] = extract(files["v1_two_layers.obic"], "object")
    for name, data in files.items():
        (HERE / name).write_bytes(data)
        dec = decode(data, device="cpu", weights=str(WEIGHTS))
        png = HERE / name.replace(".obic", ".png")
        write_png(png, dec.image, dec.alpha)
        manifest[name] = {
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "decoded_sha256": hashlib.sha256(dec.image.tobytes()).hexdigest(),
            "layers": list(dec.layers),
        }
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(json.dumps(manifest, indent=1))


SHIPPED_PIN = HERE / "shipped_encode.json"


def cpu_isa() -> str:
    """float32 convolutions may round differently on other SIMD kernels: pins are per ISA."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    return "avx512" if " avx512f" in flags else "avx2" if " avx2" in flags else "other"


def shipped_encode() -> bytes:
    """A fixed 64×64 two-layer encode with the shipped weights (q 0.8 / 0.2)."""
    from obic_core.codec import EncodeSettings, encode

    img, mask = golden_image()
    return encode(np.ascontiguousarray(img[:64, :64]), mask[:64, :64], EncodeSettings(0.8, 0.2, device="cpu"))


def pin_shipped() -> None:
    from obic_core.codec import load_codec

    data = shipped_encode()
    pin = {
        "model_id": load_codec(device="cpu").model_id,
        "isa": cpu_isa(),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    SHIPPED_PIN.write_text(json.dumps(pin, indent=1) + "\n")
    print(pin)


if __name__ == "__main__":
    import sys

    pin_shipped() if "--shipped" in sys.argv else main()
