"""Training: data sets, masks for training, losses, loops (single process and DDP), export."""
