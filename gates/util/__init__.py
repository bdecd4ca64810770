"""Helpers shared by the gates and the engine: file walking, subprocesses, atomic writes, masking."""
