"""The config reference (``docs/config-reference.md``), generated from the schema.

Every key comes from the dataclasses of :mod:`demandsim.config.schema`: its
dotted path, its type (from the type hints), its description (the ``#:``
comment above the field, or the class docstring for a nested section) and its
default as composed for the baseline (``load_config([])``: the schema, the
``configs/<group>/default.yaml`` files and ``scenarios/baseline_2021.yaml``).
``tests/test_docs.py`` checks that the checked-in file equals this output, so
regenerate it after changing the schema or a default::

    python -m demandsim.config.reference > docs/config-reference.md

Example:
    >>> text = config_reference()
    >>> "staffing.call_handlers" in text, text.startswith("<!-- Generated")
    (True, True)
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import statistics
import typing
from typing import Any

from demandsim.config import CONFIG_DIR, PROJECT_DIR, load_config
from demandsim.config.schema import WEEKDAYS, Config, Dist, District, Shift
from demandsim.model.distributions import KINDS

REGENERATE = "python -m demandsim.config.reference > docs/config-reference.md"
#: lists longer than this are summarised (count, mean, range) instead of printed
MAX_LISTED = 12

#: the Dist fields each distribution kind reads, and what it draws (checked against KINDS)
DIST_KINDS = {
    "exponential": (("mean",), "exponential with that mean"),
    "lognormal": (("mean", "cv"), "lognormal with that mean and coefficient of variation (sd / mean)"),
    "gamma": (("mean", "cv"), "gamma with that mean and coefficient of variation"),
    "weibull": (("mean", "shape"), "Weibull with that mean and shape (1 = exponential; below 1 more very short "
                "and very long times; a patience fitted by `python -m demandsim.calibrate` may be one)"),
    "deterministic": (("value",), "always `value` (may be 0)"),
    "uniform": (("low", "high"), "uniform between `low` and `high` (`high` >= `low`)"),
    "empirical": (("values", "csv", "column"),
                  "one of `values`, each with equal weight; or, instead of `values`, the numbers in column "
                  "`column` of the CSV file `csv` (a relative path is relative to the project directory)"),
    "none": ((), "never happens: an infinite time (a patience of `none` means nobody hangs up)"),
}

#: what each field of a Shift means (checked against the dataclass)
SHIFT_FIELDS = {
    "start_hour": "hour of the day the shift starts, 0-23",
    "hours": "length of the shift in hours, 1-168; a shift that runs past midnight carries into the "
             "next day, and Sunday night into Monday",
    "staff": "people (or, for `staffing.units`, response units) on duty during the shift, >= 0; in `extra` "
             "it may be negative: that many taken away from the roster in the shift's hours (refused, naming "
             "the hour, if fewer than 0 would be left)",
    "days": "weekdays on which the shift starts, from " + ", ".join(WEEKDAYS),
}


# ----------------------------------------------------------------- reading the schema
def field_comments(cls: type) -> dict[str, str]:
    """The ``#:`` comment lines directly above each field of a dataclass, joined.

    Only lines of the class body itself count (not of a nested block).
    """
    lines = inspect.getsource(cls).splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("class "))
    comments: dict[str, str] = {}
    pending: list[str] = []
    body_indent = None
    for line in lines[start + 1:]:
        stripped = line.strip()
        if not stripped:
            pending = []
            continue
        indent = len(line) - len(line.lstrip())
        if body_indent is None:
            body_indent = indent
        if indent != body_indent:
            pending = []
            continue
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        found = re.match(r"(\w+)\s*:", stripped)
        if found and pending:
            comments[found.group(1)] = " ".join(pending)
        pending = []
    return comments


def docstring(cls: type) -> str:
    """The class docstring on one line, with reST ``literals`` as Markdown."""
    doc = cls.__doc__ or ""
    if doc.startswith(cls.__name__ + "("):  # the signature @dataclass puts in when there is no docstring
        return ""
    return _markdown(" ".join(inspect.cleandoc(doc).split()))


def _markdown(text: str) -> str:
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`").replace("|", "\\|")


def _unwrap(hint) -> tuple[Any, bool]:
    """(type without Optional, whether None is allowed)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Union and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return hint, False


def type_name(hint) -> str:
    """A short name of a type hint: ``float``, ``list[Shift]``, ``list[int] or null``."""
    inner, optional = _unwrap(hint)
    origin = typing.get_origin(inner)
    if origin in (list, typing.List):
        (item,) = typing.get_args(inner)
        name = f"list[{type_name(item)}]"
    elif origin in (dict, typing.Dict):
        name = "dict"
    elif inner is Any:
        name = "any"
    elif dataclasses.is_dataclass(inner):
        name = {Dist: "[Dist](#dist)", Shift: "[Shift](#shift)", District: "[District](#district)"}.get(
            inner, inner.__name__)
    else:
        name = inner.__name__
    return f"{name} or null" if optional else name


# ----------------------------------------------------------------- showing defaults
def _number(x) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x) if isinstance(x, float) else str(x)


def show_dist(d: Dist) -> str:
    """``lognormal(mean=4, cv=0.5)``: the kind and the parameters it reads."""
    params = []
    for name in DIST_KINDS.get(d.kind, ((), ""))[0]:
        value = getattr(d, name)
        if value is None:
            continue
        if name == "values":
            value = f"{len(value)} values" if len(value) > MAX_LISTED else "[" + ", ".join(map(_number, value)) + "]"
        elif isinstance(value, str):
            value = repr(value)
        else:
            value = _number(value)
        params.append(f"{name}={value}")
    return f"`{d.kind}({', '.join(params)})`" if params else f"`{d.kind}`"


def show_shift(s: Shift) -> str:
    """``07:00 +10 h x 5``, with the days when not every day."""
    text = f"{s.start_hour:02d}:00 +{s.hours} h x {s.staff}"
    if list(s.days) != WEEKDAYS:
        text += " (" + ", ".join(s.days) + ")"
    return text


def show_district(d: District) -> str:
    """``Fenland: demand 0.102, units 0.102, travel x1.174, neighbours Peterborough, Huntingdonshire``."""
    text = f"{d.name}: demand {_number(d.demand_share)}, units {_number(d.units_share)}, " \
           f"travel x{_number(d.travel_factor)}"
    return text + (f", neighbours {', '.join(d.neighbours)}" if d.neighbours else ", no neighbours")


def show_default(value) -> str:
    """A default as shown in the tables: short values in full, long lists summarised."""
    if value is None:
        return "`null`"
    if isinstance(value, Dist):
        return show_dist(value)
    if isinstance(value, (bool, int, float)):
        return f"`{_number(value)}`"
    if isinstance(value, str):
        return f'`"{value}"`' if value == "" or " " in value else f"`{value}`"
    if isinstance(value, list):
        if not value:
            return "`[]`"
        if all(isinstance(v, Shift) for v in value):
            return "; ".join(show_shift(v) for v in value)
        if all(isinstance(v, District) for v in value):
            return "; ".join(show_district(v) for v in value)
        if len(value) > MAX_LISTED and all(isinstance(v, (int, float)) for v in value):
            return (f"{len(value)} values, mean {statistics.fmean(value):.2f}, "
                    f"min {_number(min(value))}, max {_number(max(value))}")
        return "`[" + ", ".join(_number(v) if not isinstance(v, str) else v for v in value) + "]`"
    if isinstance(value, dict):
        return "`{" + ", ".join(f"{k}: {_number(v)}" for k, v in value.items()) + "}`"
    return f"`{value}`"


# ----------------------------------------------------------------- the tables
def rows(cls: type, value, prefix: str) -> list[tuple[str, str, str, str]]:
    """(key, type, default, description) for every field under ``prefix``, depth first.

    A nested section gets its own row (described by its ``#:`` comment or class
    docstring) followed by its fields; a ``Dist`` or a list of ``Shift`` is one row.
    """
    hints = typing.get_type_hints(cls)
    comments = field_comments(cls)
    out = []
    for f in dataclasses.fields(cls):
        key = f"{prefix}.{f.name}" if prefix else f.name
        hint = hints[f.name]
        inner, _ = _unwrap(hint)
        child = getattr(value, f.name)
        about = _markdown(comments.get(f.name, ""))
        if dataclasses.is_dataclass(inner) and inner is not Dist:
            out.append((key, type_name(hint), "", about or docstring(inner)))
            out += rows(inner, child, key)
        else:
            out.append((key, type_name(hint), show_default(child), about))
    return out


def table(entries) -> list[str]:
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    lines += [f"| `{key}` | {kind} | {default} | {about} |" for key, kind, default, about in entries]
    return lines


def _dist_section() -> list[str]:
    if set(DIST_KINDS) != set(KINDS):
        raise RuntimeError(f"DIST_KINDS {sorted(DIST_KINDS)} does not match the kinds of the code {sorted(KINDS)}")
    hints = typing.get_type_hints(Dist)
    fields = ", ".join(f"`{f.name}` ({type_name(hints[f.name])})" for f in dataclasses.fields(Dist))
    lines = [
        "## Dist",
        "",
        f"{docstring(Dist)} Durations are in minutes.",
        "",
        f"Fields: {fields}. Only the parameters of the chosen kind are read; the others are ignored. "
        "In YAML: `{kind: lognormal, mean: 4.0, cv: 0.5}`. Every draw is the distribution's quantile "
        "function applied to one uniform number (see docs/model.md, random numbers).",
        "",
        "| kind | parameters | draw |",
        "|---|---|---|",
    ]
    for kind in KINDS:
        params, draw = DIST_KINDS[kind]
        lines.append(f"| `{kind}` | {', '.join(f'`{p}`' for p in params) or '(none)'} | {draw} |")
    return lines


def _shift_section() -> list[str]:
    names = [f.name for f in dataclasses.fields(Shift)]
    if set(names) != set(SHIFT_FIELDS):
        raise RuntimeError(f"SHIFT_FIELDS {sorted(SHIFT_FIELDS)} does not match Shift's fields {sorted(names)}")
    hints = typing.get_type_hints(Shift)
    fallback = Shift()
    lines = [
        "## Shift",
        "",
        f"{docstring(Shift)} A roster (`shifts`, `extra`) is a list of them; in the tables above a list of "
        "shifts is shown as `start +hours x staff`, with the days when not every day.",
        "",
        "| field | type | if unset | meaning |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{n}` | {type_name(hints[n])} | {show_default(getattr(fallback, n))} | {SHIFT_FIELDS[n]} |"
              for n in names]
    lines += [
        "",
        "A roster is either `shifts` or 168 `hour_of_week` headcounts (Monday 00-01 first), not both; "
        "`extra` shifts add on top of either (or, with negative `staff`, take away). Then "
        "`staffing.scale.<group>` multiplies the roster per hour (rounded half up) and `staffing.add.<group>` "
        "adds N in every hour. The headcount changes on the hour; people (or units) busy "
        "when their shift ends finish that piece of work first.",
    ]
    return lines


def _district_section() -> list[str]:
    hints = typing.get_type_hints(District)
    comments = field_comments(District)
    fallback = District()
    lines = [
        "## District",
        "",
        f"{docstring(District)} `areas.districts` is a list of them, in the order the records number the "
        "areas; in the tables above a district is shown as `name: demand, units, travel factor, neighbours`. "
        "An empty list is one force-wide area (every unit free for every incident).",
        "",
        "| field | type | if unset | meaning |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{f.name}` | {type_name(hints[f.name])} | {show_default(getattr(fallback, f.name))} | "
              f"{_markdown(comments.get(f.name, ''))} |" for f in dataclasses.fields(District)]
    return lines


def config_reference() -> str:
    """The whole reference, in Markdown, for the baseline composition."""
    cfg = load_config([])
    hints = typing.get_type_hints(Config)
    top = [(f.name, f) for f in dataclasses.fields(Config)]
    lines = [
        f"<!-- Generated by demandsim/config/reference.py from demandsim/config/schema.py: do not edit. "
        f"Regenerate: {REGENERATE} -->",
        "# Configuration reference",
        "",
        "Every key of the config, generated from the structured schema (`demandsim/config/schema.py`); "
        f"regenerate this file with `{REGENERATE}`.",
        "",
        f"Defaults are as composed for the default scenario (`{cfg.scenario_name}`): the schema, then "
        "`configs/<section>/default.yaml` (where a comment gives each figure's source or says it is an "
        "ASSUMPTION), then the scenario file. The schema's own values are neutral fall-backs. Durations are in "
        "minutes unless the key says otherwise. Set a key on the command line (`python -m demandsim "
        "staffing.digital_desk.queue_threshold=3`) or in a scenario file (`scenarios/<name>.yaml`); "
        "`python -m demandsim --cfg job` prints the merged config. Unknown keys and values of the wrong type "
        "are refused. Random durations are [Dist](#dist) entries; rosters are lists of [Shift](#shift).",
        "",
        "## Top-level keys",
        "",
    ]
    scalars = [(name, f) for name, f in top if not dataclasses.is_dataclass(_unwrap(hints[name])[0])
               and name != "validation"]
    comments = field_comments(Config)
    lines += table([(name, type_name(hints[name]), show_default(getattr(cfg, name)), _markdown(comments.get(name, "")))
                    for name, _ in scalars])
    for name, f in top:
        inner, _ = _unwrap(hints[name])
        if (name, f) in scalars:
            continue
        lines += ["", f"## {name}", ""]
        intro = [docstring(inner)] if dataclasses.is_dataclass(inner) and docstring(inner) else []
        defaults = CONFIG_DIR / name / "default.yaml"
        if defaults.is_file():
            intro.append(f"Defaults set in `{defaults.relative_to(PROJECT_DIR).as_posix()}`.")
        if intro:
            lines += [" ".join(intro), ""]
        if dataclasses.is_dataclass(inner):
            lines += table(rows(inner, getattr(cfg, name), name))
        else:
            lines += table([(name, type_name(hints[name]), show_default(getattr(cfg, name)),
                             _markdown(comments.get(name, "")))])
    lines += [""] + _dist_section() + [""] + _shift_section() + [""] + _district_section()
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(config_reference(), end="")
