"""Locating the shared data sets and the committed validation split.

The validation split of the image/mask pairs lives in ``resources/splits/masks_val.txt``
(one ``<dataset>/<stem>`` per line). Codec training, segmentation training and the
masks-val benchmark all read it from here, so no code path can train on it by accident.
Kodak is refused as training input by name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SPLIT_FILE = REPO_ROOT / "resources" / "splits" / "masks_val.txt"
IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def shared_data_dir() -> Path | None:
    """``../shared/data`` beside the project (or $OBIC_SHARED_DATA), None when absent."""
    env = os.environ.get("OBIC_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c
    return None


@dataclass(frozen=True)
class Pair:
    key: str  # "<dataset>/<stem>", the id used in split files
    image: Path
    mask: Path


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_EXTS)


def dataset_name(folder: Path) -> str:
    folder = Path(folder).resolve()
    return folder.name if folder.parent.name != "objects" else f"objects/{folder.name}"


def find_pairs(folder: Path) -> list[Pair]:
    """Image/mask pairs of a folder with ``images/`` and ``masks/`` (same stems)."""
    folder = Path(folder)
    masks = {p.stem: p for p in list_images(folder / "masks")}
    name = dataset_name(folder)
    return [
        Pair(f"{name}/{img.stem}", img, masks[img.stem]) for img in list_images(folder / "images") if img.stem in masks
    ]


def refuse_evaluation_data(folder: Path) -> None:
    if "kodak" in Path(folder).resolve().as_posix().lower():
        raise ValueError(f"{folder}: Kodak is the evaluation set and is never used for training")


def validation_keys() -> set[str]:
    if not SPLIT_FILE.exists():
        return set()
    return {line.strip() for line in SPLIT_FILE.read_text().splitlines() if line.strip() and not line.startswith("#")}


def split_pairs(pairs: list[Pair]) -> tuple[list[Pair], list[Pair]]:
    """(train, validation) according to the committed split."""
    val = validation_keys()
    return [p for p in pairs if p.key not in val], [p for p in pairs if p.key in val]


def validation_pairs() -> list[Pair]:
    """All validation pairs that exist on this machine."""
    root = shared_data_dir()
    if root is None:
        return []
    out = []
    for folder in (root / "saliency", *sorted((root / "objects").glob("*"))):
        if (folder / "images").is_dir():
            out.extend(split_pairs(find_pairs(folder))[1])
    return out
