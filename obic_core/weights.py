"""Finding, identifying and loading weight files (safetensors + JSON model card).

A weight file's id is the first 16 hex digits of its SHA-256; `.obic` files store it so a
decoder can refuse, with a clear message, to decode with a different model (which would
produce garbage instead of an error). Loading never unpickles anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from obic_core.errors import ObicWeightsError
from obic_core.imageio import write_bytes_atomic

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "resources" / "weights"
DEFAULT_CODEC = WEIGHTS_DIR / "learntobic.safetensors"
ID_HEX = 16


def file_id(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:ID_HEX]


def card_path(weights: Path) -> Path:
    return Path(weights).with_suffix(".json")


def save_weights(state: dict[str, torch.Tensor], path: Path, card: dict, half: bool = True) -> str:
    """Write weights (fp16 by default: half the size, validated after rounding) and card."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {
        k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu()).contiguous()
        for k, v in state.items()
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"config": json.dumps(card.get("config", {}))})
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    wid = file_id(path)
    card = {**card, "id": wid, "file": path.name, "bytes": path.stat().st_size}
    write_bytes_atomic(card_path(path), (json.dumps(card, indent=2) + "\n").encode())
    return wid


@dataclass
class LoadedWeights:
    state: dict[str, torch.Tensor]
    card: dict
    id: str
    path: Path


def load_weights(path: Path) -> LoadedWeights:
    path = Path(path)
    if not path.is_file():
        raise ObicWeightsError(
            f"weight file not found: {path} (the default weights ship in "
            f"resources/weights/; pass --weights to use others)"
        )
    try:
        state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
    except Exception as exc:  # safetensors raises several types for damaged files
        raise ObicWeightsError(f"cannot read weight file {path}: {exc}") from None
    card = {}
    if card_path(path).is_file():
        try:
            card = json.loads(card_path(path).read_text())
        except ValueError:
            card = {}
    return LoadedWeights(state, card, file_id(path), path)
