"""Every answer a GUI task gives is unpickled in the GUI process, which must never import torch.

The tasks return obic_core's own result types (obic_core.results) and the GUI's outcome
bundles (obic_gui.outcomes) — no mirrors. This runs the real tasks, pickles what they return
and unpickles it in a fresh interpreter through the GUI's guarded unpickler: no class from
outside the allowed modules, and torch stays out of sys.modules.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

from tests.conftest import REPO, SAMPLES

UNPICKLE = """
import json, sys
from obic_gui.worker_process import guarded_loads
values = guarded_loads(sys.stdin.buffer.read())
names = set()
def walk(v):
    names.add(type(v).__module__ + "." + type(v).__qualname__)
    for child in getattr(v, "__dict__", {}).values():
        walk(child)
    if isinstance(v, (list, tuple)):
        for child in v:
            walk(child)
    if isinstance(v, dict):
        for child in v.values():
            walk(child)
for v in values:
    walk(v)
light = ("obic_core", "obic_core.results")
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "PySide6", "cv2", "obic_core") and m not in light)
print(json.dumps({"names": sorted(names), "heavy": heavy}))
"""


def _unpickle_elsewhere(values: list) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run(
        [sys.executable, "-c", UNPICKLE],
        input=pickle.dumps(values),
        capture_output=True,
        cwd=REPO,
        env=env,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout)


def test_every_worker_result_unpickles_without_torch(small_image, small_mask, obic_weights):
    from obic_gui import tasks

    quiet = dict(progress=lambda *a: None, cancel=lambda: False, weights=obic_weights)
    image, mask = small_image, small_mask
    encoded = tasks.encode_compare(image, mask, 0.6, 0.2, None, "cpu", ("obic", "jpeg"), **quiet)
    side = dict(image=image, mask=mask, target_bpp=encoded.target_bpp, object_quality=0.6, background_quality=0.2)
    values = [
        tasks.probe(**quiet),
        encoded,
        tasks.decode_obic(encoded.data, ("object",), "cpu", **quiet),
        tasks.encode_side(codec="jpeg", quality=50.0, device="cpu", **side, **quiet),
        tasks.encode_side(codec="hevc", quality=40.0, device="cpu", chroma="4:4:4", **side, **quiet),  # + extra
        tasks.sweep(image, mask, (0.4,), ("jpeg",), 0.6, 0.2, "cpu", **quiet),  # OBIC's points are RDPoints too
        tasks.estimate_size(("pickle-test",), image, mask, None, "cpu", layer_qualities=(0.6, 0.2), **quiet),
        tasks.estimate_size(("never sent",), None, None, None, "cpu", layer_qualities=(0.6, 0.2), **quiet),
        tasks.predict_mask(image, "saliency", quiet["progress"], quiet["cancel"]),
        tasks.load_image(str(SAMPLES / "coco_000000000074.jpg"), quiet["progress"], quiet["cancel"]),
    ]
    seen = _unpickle_elsewhere(values)
    assert seen["heavy"] == [], "unpickling a worker's answer imported these into the GUI process"
    for name in (
        "obic_gui.outcomes.ProbeOutcome",
        "obic_gui.outcomes.EncodeOutcome",
        "obic_gui.outcomes.DecodeOutcome",
        "obic_gui.outcomes.SweepOutcome",
        "obic_gui.outcomes.RDPoint",
        "obic_gui.outcomes.LoadedDocument",
        "obic_core.results.CompareResult",
        "obic_core.results.Layout",
        "obic_core.results.LayerInfo",
        "obic_core.results.SizeEstimate",
        "numpy.ndarray",
    ):
        assert name in seen["names"], f"{name} was not among the results checked"


def test_result_types_live_in_a_torch_free_module():
    """The core names callers use are the very classes of obic_core.results (re-exported)."""
    from obic_core import codec, rate_estimate, results
    from obic_core.evaluation import compare

    assert codec.Layout is results.Layout and codec.LayerInfo is results.LayerInfo
    assert codec.QualityMapInfo is results.QualityMapInfo
    assert compare.CompareResult is results.CompareResult
    assert rate_estimate.SizeEstimate is results.SizeEstimate
    code = "import sys, obic_core.results, obic_gui.outcomes; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), check=True)
