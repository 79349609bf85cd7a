"""A/B of one codec training step at one thread: eager vs ``torch.compile`` of the transforms.

Same weights, same batch (8 random 256² crops, a centre object, sampled quality maps), same math:
this measures speed only, so the two arms alternate in one process (3 steps each, 6 rounds) and
the medians are compared. ``all`` also compiles each layer's hyper, context and parameter nets.

    python bench/train_step_ab.py            # transforms only (what training does by default)
    python bench/train_step_ab.py all
"""

from __future__ import annotations

import copy
import json
import sys
import time

import torch

from obic_core.masking import latent_mask_from_pixels
from obic_core.nn.model import LearntOBIC
from obic_core.train.codec_loop import loss_terms
from obic_core.train.quality_maps import QualityMapSampler
from obic_core.weights import DEFAULT_CODEC, load_weights


def main() -> None:
    torch.set_num_threads(1)
    base = LearntOBIC()
    base.load_state_dict(load_weights(DEFAULT_CODEC).state)
    base = base.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    comp = copy.deepcopy(base)
    t0 = time.perf_counter()
    comp.g_a.compile()
    comp.g_s.compile()
    if sys.argv[1:] == ["all"]:
        for c in comp.codecs.values():
            for sub in (c.h_a, c.h_s, c.params, c.context):
                sub.compile()
    x = torch.rand(8, 3, 256, 256).to(memory_format=torch.channels_last)
    pm = torch.zeros(8, 1, 256, 256)
    pm[:, :, 64:192, 64:192] = 1
    qs = QualityMapSampler(seed=0)

    def step(m: LearntOBIC) -> float:
        q = qs.sample(latent_mask_from_pixels(pm), 6)
        t = time.perf_counter()
        loss_terms(m, x, pm, None, None, "ms-ssim", True, 1500, 2, q_map=q)["loss"].backward()
        return time.perf_counter() - t

    for m in (base, comp):
        step(m)
        step(m)
    print(f"warm-up incl. compile {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    res: dict[str, list[float]] = {"eager": [], "compiled": []}
    for _ in range(6):
        for name, m in (("eager", base), ("compiled", comp)):
            res[name] += [step(m) for _ in range(3)]
    med = {k: sorted(v)[len(v) // 2] for k, v in res.items()}
    print(json.dumps({**med, "ratio": med["compiled"] / med["eager"]}))


if __name__ == "__main__":
    main()
