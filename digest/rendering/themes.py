"""Colour themes for the email and web version. Each has a light palette (the default
in every client) and a dark one applied where clients honour prefers-color-scheme.
Every text colour meets WCAG AA (4.5:1) on its background; a test checks it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Palette:
    background: str  # around the card
    card: str
    text: str
    muted: str  # dates, sources, footer
    accent: str  # links, section names
    rule: str  # dividers (decorative, no contrast requirement)
    header_background: str
    header_text: str
    header_muted: str


@dataclass(frozen=True, slots=True)
class Theme:
    name: str
    font: str
    light: Palette
    dark: Palette

    def pairs(self) -> list[tuple[str, str, str]]:
        """(what, foreground, background) for the contrast check."""
        out = []
        for mode, p in (("light", self.light), ("dark", self.dark)):
            out += [
                (f"{mode} text", p.text, p.card),
                (f"{mode} muted", p.muted, p.card),
                (f"{mode} accent", p.accent, p.card),
                (f"{mode} header", p.header_text, p.header_background),
                (f"{mode} header muted", p.header_muted, p.header_background),
                (f"{mode} footer", p.muted, p.background),
            ]
        return out


_DARK = Palette(
    background="#0b1118",
    card="#17212b",
    text="#e4e7eb",
    muted="#a7b1bd",
    accent="#8cc4ff",
    rule="#2c3a47",
    header_background="#0b1118",
    header_text="#ffffff",
    header_muted="#c5ced8",
)

THEMES = {
    "classic": Theme(
        name="classic",
        font="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif",
        light=Palette(
            background="#f0f2f5",
            card="#ffffff",
            text="#1f2933",
            muted="#52606d",
            accent="#0b57a4",
            rule="#d9e2ec",
            header_background="#102a43",
            header_text="#ffffff",
            header_muted="#d9e2ec",
        ),
        dark=_DARK,
    ),
    "paper": Theme(
        name="paper",
        font="Georgia, 'Times New Roman', serif",
        light=Palette(
            background="#f3ede2",
            card="#fffdf8",
            text="#2b2118",
            muted="#645648",
            accent="#9c3d10",
            rule="#e4d9c7",
            header_background="#fffdf8",
            header_text="#2b2118",
            header_muted="#645648",
        ),
        dark=Palette(
            background="#14110d",
            card="#211c16",
            text="#efe6d8",
            muted="#bfb09c",
            accent="#f0a070",
            rule="#3a3128",
            header_background="#14110d",
            header_text="#efe6d8",
            header_muted="#bfb09c",
        ),
    ),
}


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
