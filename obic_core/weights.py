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
#: sanity caps on a codec config, checked before a reference model is built from it (the
#: .obic header stores the name in at most 64 bytes; widths beyond this are not a real model)
MAX_MODEL_NAME = 64
MAX_WIDTH = 4096


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


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _read_card(path: Path) -> dict:
    """The JSON model card beside the weights ({} when there is none); a damaged one is an
    error, not silently ignored, because the card says which model the tensors are for."""
    cp = card_path(path)
    if not cp.is_file():
        return {}
    try:
        card = json.loads(cp.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ObicWeightsError(f"model card {cp} is not valid JSON ({_one_line(exc)})") from None
    if not isinstance(card, dict):
        raise ObicWeightsError(f"model card {cp} must hold a JSON object")
    return card


def _header_config(path: Path) -> dict | None:
    """The config stored in the safetensors header (save_weights writes it there too)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), "pt") as f:
            text = (f.metadata() or {}).get("config")
    except Exception as exc:  # noqa: BLE001 — safetensors raises several types for damaged headers
        raise ObicWeightsError(f"cannot read weight file {path}: {_one_line(exc)}") from None
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ObicWeightsError(f"weight file {path}: the config in its header is not valid JSON ({exc})") from None


def _check_values(path: Path, state: dict[str, torch.Tensor]) -> None:
    for name, tensor in state.items():
        if tensor.is_floating_point():
            bad = int((~torch.isfinite(tensor)).sum())
            if bad:
                raise ObicWeightsError(
                    f"weight file {path}: tensor '{name}' has {bad:,} NaN or infinite value(s); the file is damaged"
                )


def _check_codec(path: Path, state: dict[str, torch.Tensor], config) -> None:
    """Keys, shapes and dtypes against a model built from the config (fast: ~0.1 s), so a
    wrong file is refused in one line instead of failing later inside the entropy coder."""
    from obic_core.nn.model import LearntOBIC, ModelConfig

    if not isinstance(config, dict):
        raise ObicWeightsError(f"weight file {path}: its config must be a JSON object, got {type(config).__name__}")
    for key, value in config.items():
        if key == "name":
            if not isinstance(value, str) or not 1 <= len(value.encode("utf-8")) <= MAX_MODEL_NAME:
                raise ObicWeightsError(f"weight file {path}: the model name must be 1..{MAX_MODEL_NAME} bytes of text")
        elif not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_WIDTH:
            raise ObicWeightsError(
                f"weight file {path}: config field {key!r} = {value!r} must be a whole number in 1..{MAX_WIDTH}"
            )
    try:
        with torch.random.fork_rng(devices=[]):  # building it must not move the caller's random stream
            reference = LearntOBIC(ModelConfig(**config)).state_dict()
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ObicWeightsError(f"weight file {path}: invalid model config {config} ({_one_line(exc)})") from None
    missing = [k for k in reference if k not in state]
    extra = [k for k in state if k not in reference]
    if missing or extra:
        what = f"lacks '{missing[0]}'" if missing else f"has an unknown tensor '{extra[0]}'"
        raise ObicWeightsError(
            f"weight file {path} does not match its config: it {what} "
            f"({len(missing)} missing, {len(extra)} unexpected tensors)"
        )
    for name, ref in reference.items():
        got = state[name]
        if tuple(got.shape) != tuple(ref.shape):
            raise ObicWeightsError(
                f"weight file {path} does not match its config: '{name}' is {tuple(got.shape)}, "
                f"the model needs {tuple(ref.shape)}"
            )
        if got.is_floating_point() != ref.is_floating_point():
            raise ObicWeightsError(
                f"weight file {path}: tensor '{name}' is {str(got.dtype).replace('torch.', '')}, "
                f"the model needs {'floating-point' if ref.is_floating_point() else 'integer'} values"
            )


def load_weights(path: Path) -> LoadedWeights:
    """Read and validate a weight file and its card.

    Checked on load, each failure one line (:class:`ObicWeightsError`): the file parses, the
    card is valid JSON, every floating-point tensor is finite, and — for codec weights — the
    tensors have exactly the keys, shapes and float/integer dtypes of the model their config
    describes. ``card["config"]`` is always filled from the card or, without one, from the
    file's header, so callers never parse JSON themselves.
    """
    path = Path(path)
    if not path.is_file():
        raise ObicWeightsError(
            f"weight file not found: {path} (the default weights ship in "
            f"resources/weights/; pass --weights to use others)"
        )
    try:
        state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
    except Exception as exc:  # noqa: BLE001 — safetensors raises several types for damaged files
        raise ObicWeightsError(f"cannot read weight file {path}: {_one_line(exc)}") from None
    card = _read_card(path)
    if "config" not in card:
        config = _header_config(path)
        if config is not None:
            card["config"] = config
    _check_values(path, state)
    kind = card.get("kind") or ("codec" if any(k.startswith("g_a.") for k in state) else None)
    if kind == "codec":
        _check_codec(path, state, card.get("config", {}))
    return LoadedWeights(state, card, file_id(path), path)
