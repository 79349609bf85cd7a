"""Widgets of the main window. None of them imports torch or obic_core's model code: they get
numpy arrays and :mod:`obic_core.results` / :mod:`obic_gui.outcomes` dataclasses from the document and the jobs."""
