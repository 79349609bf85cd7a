"""What `obic bench` runs on: images (with their masks, or how masks are to be made) and the
target rates (torch-free and light: the `obic bench` parser reads :data:`DEFAULT_BPP`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from obic_core.errors import ObicInputError

#: matched-rate targets: the low-rate range this project is about, roughly ×1.5 apart
DEFAULT_BPP = (0.05, 0.08, 0.12, 0.2, 0.3, 0.45, 0.65)


@dataclass(frozen=True)
class Item:
    key: str  # stable id: file stem, or "<dataset>/<stem>" for split pairs
    image: str
    mask: str | None  # ground-truth or cached predicted mask PNG


def safe_name(key: str) -> str:
    """A key as a file name (split keys contain a slash)."""
    return key.replace("/", "__")


def collect_items(source: str, masks: str | None) -> tuple[list[Item], str, str]:
    """(items, data set name, mask source) for ``obic bench SOURCE --masks MASKS``.

    SOURCE is a folder of images, a folder with ``images/`` + ``masks/`` (masks used), or
    ``masks-val`` (the committed validation split of the shared image/mask pairs). MASKS is
    a folder of PNGs with the images' stems, ``auto`` (predicted, cached in the output), or
    ``none``; the default is the data set's own masks, else ``auto``.
    """
    from obic_core import datasets

    if source == "masks-val" and not Path(source).is_dir():
        pairs = datasets.validation_pairs()
        if not pairs:
            raise ObicInputError("masks-val needs the shared data (../shared/data or $OBIC_SHARED_DATA)")
        if masks not in (None, "gt"):
            raise ObicInputError("masks-val always uses its ground-truth masks")
        return [Item(p.key, str(p.image), str(p.mask)) for p in pairs], "masks-val", "gt"
    folder = Path(source)
    if not folder.is_dir():
        raise ObicInputError(f"{source} is not a folder (or 'masks-val')")
    if (folder / "images").is_dir() and masks is None:
        pairs = datasets.find_pairs(folder)
        return [Item(p.image.stem, str(p.image), str(p.mask)) for p in pairs], folder.name, "gt"
    images = datasets.list_images(folder / "images" if (folder / "images").is_dir() else folder)
    if not images:
        raise ObicInputError(f"no images in {folder}")
    mode = masks or "auto"
    if mode in ("auto", "none"):
        return [Item(p.stem, str(p), None) for p in images], folder.name, mode
    mask_dir = Path(mode)
    if not mask_dir.is_dir():
        raise ObicInputError(f"--masks {mode}: not a folder (or auto / none)")
    found = {p.stem: p for p in datasets.list_images(mask_dir)}
    missing = [p.name for p in images if p.stem not in found]
    if missing:
        raise ObicInputError(f"no mask in {mask_dir} for {len(missing)} image(s), e.g. {missing[0]}")
    return [Item(p.stem, str(p), str(found[p.stem])) for p in images], folder.name, "gt"
