"""The benchmark's one table, as the README shows it: each figure beside its floor and its
target from the performance issue, and whether this run met it."""

from __future__ import annotations

from dataclasses import dataclass

HEADER = ["| command | time (median) | floor | figure | target | met |",
          "|---|---|---|---|---|---|"]


@dataclass
class Row:
    command: str
    time: str
    floor: str = ""
    figure: str = ""
    target: str = ""
    met: bool | None = None  # None: a floor or a reference figure, no target of its own

    def line(self) -> str:
        verdict = "" if self.met is None else ("met" if self.met else "**not met**")
        return (f"| {self.command} | {self.time} | {self.floor} | {self.figure} | "
                f"{self.target} | {verdict} |")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def ratio_row(command: str, seconds: float, floor_name: str, floor: float,
              limit: float) -> Row:
    """A command against its floor: met when time / floor ≤ limit."""
    ratio = seconds / floor
    return Row(command, ms(seconds), f"{floor_name} ({ms(floor)})", f"{ratio:.2f} ×",
               f"≤ {limit} ×", ratio <= limit)


def rate_row(command: str, seconds: float, points: int, peak_mib: float, least: int,
             most_mib: int) -> Row:
    """A bulk command: met when points per second ≥ least and peak memory ≤ most_mib."""
    rate = points / seconds
    return Row(command, f"{seconds:.1f} s", "", f"{rate:,.0f} points/s, peak {peak_mib:.0f} MiB",
               f"≥ {least:,} points/s, ≤ {most_mib} MiB",
               rate >= least and peak_mib <= most_mib)
