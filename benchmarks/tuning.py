"""The candidate settings `make eval` chooses among, on one half of each dev set at a
time (``benchmarks/eval.py``). Each candidate is a set of TOML tables added to a copy
of the shipped config; the empty candidate is the shipped defaults. A setting is only
worth a candidate here if it is a real setting of the config (``digest/settings``):
what is chosen on the dev halves is what users get."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

CANDIDATES: list[dict[str, dict[str, Any]]] = [
    {},  # the shipped defaults: merge_threshold 0.44, redundancy 0.5, lead_weight 0
    {"stories": {"merge_threshold": 0.40}},
    {"stories": {"merge_threshold": 0.42}},
    {"stories": {"merge_threshold": 0.46}},
    {"summaries": {"lead_weight": 0.6}},  # the bonus for leads shipped before
]


def config_with(overrides: dict[str, dict[str, Any]], path: Path) -> Path:
    """The shipped config with ``overrides`` ({table: {key: value}}) added as tables,
    written to ``path`` (its relative paths are not used by an offline build)."""
    text = (ROOT / "config" / "digest.toml").read_text(encoding="utf-8")
    for table, values in overrides.items():
        if f"[{table}]" in text:
            raise ValueError(f"[{table}] is in the shipped config: tune it there, not twice")
        text += f"\n[{table}]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in values.items())
    path.write_text(text, encoding="utf-8")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"cannot write {value!r} as TOML")
