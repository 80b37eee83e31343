"""The headless publish, host-agnostic: collect a timeline's face shots, gate them, extract, integrate."""
