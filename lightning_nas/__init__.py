"""lightning_nas."""
