"""The processing blocks, one module each."""
