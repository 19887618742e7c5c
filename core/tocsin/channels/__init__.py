"""Channels built into the core: only ``console``. Every other channel is its own distribution."""
