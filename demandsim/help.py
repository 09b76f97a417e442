"""``python -m demandsim --help``, answered without starting Hydra.

Hydra's own ``--help`` composes the whole config and deep-copies every config group to
list them (over 2 s); users iterate on small runs and read the help often. The text is
Hydra's help template from ``configs/hydra/default.yaml`` (``hydra.help``), with its
config groups listed from the ``configs/`` folder the way Hydra lists them
(``tests/test_cli.py`` checks the two lists agree).

Example:
    >>> "scenario/validation: erlang_a, priority_dispatch" in help_text()
    True
"""

from __future__ import annotations

from pathlib import Path

#: the folder of Hydra's config groups (``demandsim.config.CONFIG_DIR``; not imported from
#: there, which would load Hydra and the schema)
CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
HELP_FLAGS = ("--help", "-h")


def wants_help(argv: list[str]) -> bool:
    """True when the command line asks for the help text (Hydra's ``--hydra-help`` is Hydra's own)."""
    return any(a in HELP_FLAGS for a in argv)


def config_groups(config_dir: Path = CONFIG_DIR) -> dict[str, list[str]]:
    """``{group: [option, ...]}`` for every config group except Hydra's own, sorted as Hydra sorts them."""
    import os

    groups: dict[str, list[str]] = {}
    for folder, _, files in os.walk(config_dir, followlinks=True):  # configs/scenario links to scenarios/
        group = Path(folder).relative_to(config_dir).as_posix()
        if group != "." and group.split("/")[0] != "hydra":
            groups.setdefault(group, []).extend(Path(f).stem for f in files if f.endswith(".yaml"))
    return {g: sorted(options) for g, options in sorted(groups.items()) if options}


def help_text(config_dir: Path = CONFIG_DIR) -> str:
    """The help page: header, config groups and footer of ``hydra.help`` in configs/hydra/default.yaml."""
    import yaml

    settings = yaml.load((config_dir / "hydra" / "default.yaml").read_text(),
                         Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["help"]
    groups = "\n".join(f"{group}: {', '.join(options)}" for group, options in config_groups(config_dir).items()) + "\n"
    return (settings["template"].replace("${hydra.help.header}", settings["header"])
            .replace("${hydra.help.footer}", settings["footer"]).replace("$APP_CONFIG_GROUPS", groups))
