"""Branding rules that are pure computation: whether white text is readable on a survey's brand colour."""

from __future__ import annotations

DEFAULT_BRAND_COLOR = "#1d4ed8"  # used wherever white text on the brand colour would be hard to read


def white_text_contrast_ok(color: str) -> bool:
    """WCAG contrast of white text on the brand colour is at least 4.5:1 (else the page uses dark blue)."""
    try:
        channels = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    except (ValueError, IndexError):
        return False
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05) >= 4.5


def accessible_brand_color(color: str) -> str:
    return color if white_text_contrast_ok(color) else DEFAULT_BRAND_COLOR
