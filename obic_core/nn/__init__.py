"""Pure-torch building blocks of the LearntOBIC network (no I/O, no entropy coder)."""
