"""OBIC Studio, the desktop application (PySide6).

This package's top level stays Qt-free and torch-free on purpose: the worker process imports
``obic_gui.tasks`` / ``obic_gui.worker_process`` and must not pull Qt in, and the GUI process
must never import torch (the window has to appear in well under two seconds).
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
