"""Fuzz campaign on the .obic reader: mutated and truncated files derived from real encodes.

Every case must end in success or a documented ObicError (ObicFormatError / ObicInputError)
with a message; anything else is a crash, a case slower than 5 s a hang. Two families:

* blind mutations (bit flips, byte overwrites, truncation, insertion, deletion, span
  duplication) — these exercise the parser and are almost always stopped by a CRC;
* structure-aware mutations that rewrite header fields or payload bytes and then *fix the
  CRCs*, so the damaged data reaches the range decoders, the mask decoder and the model.

The pixel budget is lowered (OBIC_MAX_PIXELS, default here 4 MP) so that a header claiming a
huge image is refused before allocation, as a user would configure a server.

    python tests/fuzz/fuzz_obic.py --iterations 200000 --workers 2 --out bench/results/fuzz.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HANG_S = 5.0


def seed_files() -> list[bytes]:
    """Real encodes of small crops of a bundled photo: two-layer, single-layer, one layer."""
    import numpy as np

    from obic_core import codec
    from obic_core.imageio import read_image

    root = Path(__file__).resolve().parents[2]
    img = read_image(root / "resources" / "samples" / "coco_000000000370.jpg").pixels[100:180, 150:270]
    img = np.ascontiguousarray(img)
    mask = np.zeros(img.shape[:2], bool)
    mask[10:60, 20:90] = True
    s = codec.EncodeSettings(0.8, 0.2, device="cpu")
    two = codec.encode(img, mask, s)
    return [
        two,
        codec.encode(img, None, s),
        codec.extract(two, "object"),
        codec.encode(img, mask, codec.EncodeSettings(0.3, 0.9, device="cpu", store_full_mask=True)),
    ]


def blind_mutation(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    op = rng.randrange(6)
    if op == 0:
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif op == 1:
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif op == 2:
        b = b[: rng.randrange(len(b))]
    elif op == 3:
        i = rng.randrange(len(b) + 1)
        b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif op == 4:
        i = rng.randrange(len(b))
        del b[i : i + rng.randint(1, 32)]
    else:
        i = rng.randrange(len(b))
        j = min(len(b), i + rng.randint(1, 64))
        b[j:j] = b[i:j]
    return bytes(b)


def structured_mutation(rng: random.Random, data: bytes) -> bytes:
    """Damage a field or a payload, then re-serialize so every CRC is valid again."""
    from obic_core import bitstream

    c = bitstream.parse(data)
    op = rng.randrange(5)
    if op == 0:
        c.width = rng.choice([1, 2, 63, 64, 65, rng.randint(1, 4000), 30000])
    elif op == 1:
        c.height = rng.choice([1, 2, 63, 64, 65, rng.randint(1, 4000), 30000])
    elif op == 2:
        c.object_quality, c.background_quality = rng.random(), rng.random()
    elif op == 3 and c.streams:
        name = rng.choice(sorted(c.streams))
        p = bytearray(c.streams[name])
        if p:
            for _ in range(rng.randint(1, 6)):
                p[rng.randrange(len(p))] = rng.randrange(256)
        if rng.random() < 0.3:
            p = p[: rng.randrange(len(p) + 1)]
        c.streams[name] = bytes(p)
    else:
        name = rng.choice(sorted(c.streams))
        if name != "mask" or rng.random() < 0.3:
            del c.streams[name]
    return bitstream.serialize(c)


def run_chunk(args: tuple[int, int, float, list[bytes]]) -> dict:
    start, count, structured_share, seeds = args
    os.environ.setdefault("OBIC_MAX_PIXELS", str(4_000_000))
    import torch

    torch.set_num_threads(1)
    from obic_core import codec
    from obic_core.errors import ObicError

    rng = random.Random(start)
    stats = {
        "cases": 0,
        "accepted": 0,
        "rejected": 0,
        "decoded": 0,
        "crashes": [],
        "hangs": [],
        "max_case_s": 0.0,
        "messages": {},
    }
    for i in range(count):
        seed = rng.choice(seeds)
        structured = rng.random() < structured_share
        try:
            data = structured_mutation(rng, seed) if structured else blind_mutation(rng, seed)
        except Exception:  # noqa: BLE001 — a structured mutation that does not fit this seed: mutate blindly
            data = blind_mutation(rng, seed)
            structured = False
        t0 = time.perf_counter()
        try:
            codec.inspect(data)
            if structured:
                codec.decode(data, device="cpu")
                stats["decoded"] += 1
            stats["accepted"] += 1
        except ObicError as exc:
            msg = str(exc)
            if not msg:
                stats["crashes"].append({"case": start + i, "error": "empty message"})
            key = type(exc).__name__ + ": " + msg.split("(")[0][:60]
            stats["messages"][key] = stats["messages"].get(key, 0) + 1
            stats["rejected"] += 1
        except Exception as exc:  # noqa: BLE001 — anything undocumented is a crash, recorded as such
            stats["crashes"].append(
                {"case": start + i, "error": repr(exc)[:300], "trace": traceback.format_exc()[-800:]}
            )
        dt = time.perf_counter() - t0
        stats["max_case_s"] = max(stats["max_case_s"], dt)
        if dt > HANG_S:
            stats["hangs"].append({"case": start + i, "seconds": round(dt, 2)})
        stats["cases"] += 1
    stats["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return stats


def campaign(iterations: int, workers: int, structured_share: float = 0.1, chunk: int = 2000) -> dict:
    seeds = seed_files()
    jobs = [(s, min(chunk, iterations - s), structured_share, seeds) for s in range(0, iterations, chunk)]
    total = {
        "iterations": iterations,
        "structured_share": structured_share,
        "cases": 0,
        "accepted": 0,
        "rejected": 0,
        "decoded": 0,
        "crashes": [],
        "hangs": [],
        "max_case_s": 0.0,
        "peak_rss_mb": 0.0,
        "messages": {},
    }
    t0 = time.time()
    with ProcessPoolExecutor(workers) as pool:
        for st in pool.map(run_chunk, jobs):
            for k in ("cases", "accepted", "rejected", "decoded"):
                total[k] += st[k]
            total["crashes"] += st["crashes"]
            total["hangs"] += st["hangs"]
            total["max_case_s"] = max(total["max_case_s"], st["max_case_s"])
            total["peak_rss_mb"] = max(total["peak_rss_mb"], st["peak_rss_mb"])
            for m, n in st["messages"].items():
                total["messages"][m] = total["messages"].get(m, 0) + n
    total["wall_s"] = round(time.time() - t0, 1)
    total["messages"] = dict(sorted(total["messages"].items(), key=lambda kv: -kv[1])[:30])
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description="fuzz the .obic reader")
    ap.add_argument("--iterations", type=int, default=200_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--structured-share", type=float, default=0.1)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    res = campaign(args.iterations, args.workers, args.structured_share)
    text = json.dumps(res, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text[:3000])
    return 1 if res["crashes"] or res["hangs"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
