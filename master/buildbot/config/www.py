"""Checks of the UI-related keys of `c['www']`: avatars, versions, theme, templates, plugins.

Each check returns the error messages for its key (naming it); `check_ui_keys` runs
them all. Duck-typed and free of web imports, so that loading a config stays light;
the web server reuses `theme_css` and `is_css_name`/`is_css_value` when rendering.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

# CSS custom property names, and values that cannot leave a declaration or a <style>
_CSS_NAME_RE = re.compile(r"^(--)?[A-Za-z_][A-Za-z0-9_-]*$")
_CSS_VALUE_RE = re.compile(r"""^[A-Za-z0-9 #%.,()_+*/'"!-]*$""")


def is_css_name(name: Any) -> bool:
    return isinstance(name, str) and bool(_CSS_NAME_RE.match(name))


def is_css_value(value: Any) -> bool:
    return isinstance(value, str) and bool(_CSS_VALUE_RE.match(value))


def theme_css(theme: dict[str, Any] | None) -> str:
    """`:root{--name: value;...}` for the valid entries of a theme dict ('' if none)."""
    decls = [
        f"--{name.removeprefix('--')}: {value};"
        for name, value in (theme or {}).items()
        if is_css_name(name) and is_css_value(value)
    ]
    return ":root{" + "".join(decls) + "}" if decls else ""


def _is_avatar(v: Any) -> bool:
    return callable(getattr(v, "getUserAvatar", None))


def _check_avatar_methods(v: Any, basedir: str) -> list[str]:
    methods = v if isinstance(v, (list, tuple)) else [v]
    if all(_is_avatar(m) for m in methods):
        return []
    return [
        "c['www']['avatar_methods'] must be an avatar object (e.g. util.AvatarGravatar()) "
        f"or a list of them (got {v!r})"
    ]


def _check_versions(v: Any, basedir: str) -> list[str]:
    ok = isinstance(v, list) and all(
        isinstance(x, (tuple, list)) and len(x) == 2 and all(isinstance(s, str) for s in x)
        for x in v
    )
    if ok:
        return []
    return [f"c['www']['versions'] must be a list of (name, version) tuples of strings (got {v!r})"]


def _check_ui_default_config(v: Any, basedir: str) -> list[str]:
    if isinstance(v, dict):
        return []
    return [f"c['www']['ui_default_config'] must be a dictionary (got {type(v).__name__})"]


def _check_theme(v: Any, basedir: str) -> list[str]:
    if not isinstance(v, dict):
        return [f"c['www']['theme'] must be a dictionary of strings (got {type(v).__name__})"]
    errors = []
    for name, value in v.items():
        if not is_css_name(name):
            errors.append(f"c['www']['theme']: {name!r} is not a valid CSS variable name")
        elif not is_css_value(value):
            errors.append(
                f"c['www']['theme']['{name}']: {value!r} is not a string of letters, digits, "
                "spaces and #%.,()_+*/'\"!-"
            )
    return errors


def custom_templates_path(v: str, basedir: str) -> str:
    return os.path.join(basedir, os.path.expanduser(v))


def _check_custom_templates_dir(v: Any, basedir: str) -> list[str]:
    if not isinstance(v, str):
        return [f"c['www']['custom_templates_dir'] must be a string (got {type(v).__name__})"]
    if not os.path.isdir(custom_templates_path(v, basedir)):
        return [f"c['www']['custom_templates_dir']: directory {v!r} does not exist"]
    return []


def _check_default_page(v: Any, basedir: str) -> list[str]:
    if isinstance(v, str):
        return []
    return [f"c['www']['default_page'] must be a string (got {type(v).__name__})"]


# the views Buildbot ships as plugins that our base UI has built in: configs naming
# them keep working without any plugin installed
BUILTIN_PLUGINS = frozenset({"waterfall_view", "console_view", "grid_view"})


def installed_plugins() -> set[str]:
    from importlib.metadata import entry_points

    return {ep.name for ep in entry_points(group="buildbot.www")}


def _check_plugins(v: Any, basedir: str) -> list[str]:
    if not isinstance(v, dict):
        return [f"c['www']['plugins'] must be a dictionary (got {type(v).__name__})"]
    installed = installed_plugins()
    return [
        f"c['www']['plugins']: could not find plugin {name!r}; is it installed?"
        for name in v
        if name not in installed and name not in BUILTIN_PLUGINS
    ]


CHECKS: dict[str, Callable[[Any, str], list[str]]] = {
    "avatar_methods": _check_avatar_methods,
    "versions": _check_versions,
    "ui_default_config": _check_ui_default_config,
    "theme": _check_theme,
    "custom_templates_dir": _check_custom_templates_dir,
    "default_page": _check_default_page,
    "plugins": _check_plugins,
}


def check_ui_keys(www: dict[str, Any], basedir: str) -> list[str]:
    """The error messages for the UI keys of `www` (None values are defaults: fine)."""
    errors: list[str] = []
    for key, check in CHECKS.items():
        v = www.get(key)
        if v is not None:
            errors.extend(check(v, basedir))
    return errors
