"""Evaluation: every codec scored the same way, one image at a time or over a data set.

The pieces, each with one job (nothing is imported here, so importing one stays cheap):

* :mod:`.metrics` — PSNR, MS-SSIM, region metrics, bpp, timing: one implementation for all codecs.
* :mod:`.codecs` — one adapter per codec (same interface), the rate search that drives any of
  them to a target bpp, the registry that names them.
* :mod:`.compare` — one image, every codec at the same file size (the GUI's compare view,
  ``obic compare``).
* :mod:`.bench` — a data set × codecs × target rates, resumable and parallel (``obic bench``),
  built from :mod:`.inputs` (what to run on), :mod:`.worker` (one point), :mod:`.points` (the
  cache), :mod:`.curves` (averaging), :mod:`.bd` (BD-rates), :mod:`.anchors` (published
  reference curves), :mod:`.plots` and :mod:`.report` (the results folder).
* The ``obic compare`` and ``obic bench`` commands live with the rest of the command line, in
  :mod:`obic_core.cli.evaluate`.
"""
