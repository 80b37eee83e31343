"""AIGC labels: the implicit metadata object, the visible text, C2PA, and their proof."""
