"""Every theme's text colours meet WCAG AA contrast (4.5:1), light and dark."""

from __future__ import annotations

import pytest

from digest.rendering.themes import THEMES, contrast_ratio


def test_contrast_ratio_matches_known_values() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("name", sorted(THEMES))
def test_theme_meets_wcag_aa(name: str) -> None:
    failures = [
        f"{what}: {fg} on {bg} = {contrast_ratio(fg, bg):.2f}"
        for what, fg, bg in THEMES[name].pairs()
        if contrast_ratio(fg, bg) < 4.5
    ]
    assert not failures, failures
