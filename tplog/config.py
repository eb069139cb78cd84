"""The settings file: config.toml in the user's config folder (or TPLOG_CONFIG).

```toml
practitioner = "Dr Lee"            # who injects, when --practitioner is not given

[checks]
reinjection_days = 14              # same muscle and side again within this many days: flag
sessions_per_year = 3              # more sessions than this in a rolling 12 months: flag

[dose_limits.lidocaine]            # also bupivacaine, ropivacaine
mg_per_kg = 4.5
max_mg = 300
```

A file that cannot be read, or a key that is unknown or of the wrong kind, is refused with
one line naming the file and the key; nothing is guessed.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tplog.errors import BadInput
from tplog.outcomes import DEFAULT_DOSE_LIMITS, DoseLimit

# Reinjection of the same site within 14 days is flagged (the default); more than 3
# sessions in a rolling 12 months is the Medicare LCD figure (reference: CMS LCD L39661).
DEFAULT_REINJECTION_DAYS = 14
DEFAULT_SESSIONS_PER_YEAR = 3


@dataclass(frozen=True)
class Settings:
    path: Path
    practitioner: str | None = None
    reinjection_days: int = DEFAULT_REINJECTION_DAYS
    sessions_per_year: int = DEFAULT_SESSIONS_PER_YEAR
    dose_limits: dict[str, DoseLimit] = field(default_factory=lambda: dict(DEFAULT_DOSE_LIMITS))


def config_path() -> Path:
    if os.environ.get("TPLOG_CONFIG"):
        return Path(os.environ["TPLOG_CONFIG"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("tplog", appauthor=False)) / "config.toml"


def _whole(path: Path, key: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise BadInput(f"config file {path}: {key} = {value!r} is not allowed; "
                       f"give a whole number of at least {least}")
    return value


def _amount(path: Path, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise BadInput(f"config file {path}: {key} = {value!r} is not allowed; "
                       "give a number above 0")
    return float(value)


def _unknown(path: Path, key: str, allowed: list[str]) -> BadInput:
    return BadInput(f"config file {path}: unknown key {key!r}; known keys: "
                    f"{', '.join(allowed)}")


def load() -> Settings:
    path = config_path()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings(path=path)
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"config file {path} cannot be read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise BadInput(f"config file {path} is not valid TOML: {error}") from None
    settings: dict[str, Any] = {"path": path}
    limits = dict(DEFAULT_DOSE_LIMITS)
    for key, value in document.items():
        if key == "practitioner":
            if not isinstance(value, str) or not value.strip():
                raise BadInput(f"config file {path}: practitioner = {value!r} is not allowed; "
                               "give a name")
            settings["practitioner"] = value.strip()
        elif key == "checks" and isinstance(value, dict):
            for name, number in value.items():
                if name == "reinjection_days":
                    settings[name] = _whole(path, f"checks.{name}", number, 0)
                elif name == "sessions_per_year":
                    settings[name] = _whole(path, f"checks.{name}", number, 1)
                else:
                    raise _unknown(path, f"checks.{name}",
                                   ["checks.reinjection_days", "checks.sessions_per_year"])
        elif key == "dose_limits" and isinstance(value, dict):
            for drug, limit in value.items():
                if drug not in limits or not isinstance(limit, dict):
                    raise _unknown(path, f"dose_limits.{drug}",
                                   [f"dose_limits.{d}" for d in DEFAULT_DOSE_LIMITS])
                changed = dict(mg_per_kg=limits[drug].mg_per_kg, max_mg=limits[drug].max_mg)
                for name, number in limit.items():
                    if name not in changed:
                        raise _unknown(path, f"dose_limits.{drug}.{name}",
                                       [f"dose_limits.{drug}.mg_per_kg",
                                        f"dose_limits.{drug}.max_mg"])
                    changed[name] = _amount(path, f"dose_limits.{drug}.{name}", number)
                limits[drug] = DoseLimit(changed["mg_per_kg"], changed["max_mg"],
                                         f"set in {path}")
        else:
            raise _unknown(path, key, ["practitioner", "checks", "dose_limits"])
    settings["dose_limits"] = limits
    return Settings(**settings)
