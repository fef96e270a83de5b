"""The model options of ``embedlab train``, generated from the settings classes.

Every field of :class:`~embedlab.settings.MFSettings`,
:class:`~embedlab.settings.NeuralSettings` and
:class:`~embedlab.settings.ImplicitMFSettings` (``--feedback implicit``) declared with
``cli=True`` becomes exactly one option, ``--field-name``: typed by its check's ``cli_type`` (bool fields as
``--x/--no-x`` flags), its help the field's doc and each model's default. The option's
own default is ``None``, "the model's default", so an option left out never overrides
the settings. Names, types, defaults and help therefore cannot drift from the Python
parameters; ``tests/cli/test_settings_options.py`` and the table in
``docs/guide/cli.md`` (:func:`options_markdown`) check it.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import typer

from embedlab.cli._options import splice_options
from embedlab.exceptions import SettingsError
from embedlab.settings import (
    ENGINE_DEFAULTS,
    IMPLICIT_ENGINE_DEFAULTS,
    Bool,
    Check,
    Dims,
    ImplicitMFSettings,
    Ints,
    MFSettings,
    NeuralSettings,
    Pair,
    Settings,
)

__all__ = [
    "MODEL_SETTINGS",
    "ModelOption",
    "cli_message",
    "cli_values",
    "model_flag",
    "model_options",
    "options_markdown",
    "with_model_options",
]

#: The settings class of each model: ``--model mf|neural`` for ratings, ``implicit`` the
#: model of ``--feedback implicit``.
MODEL_SETTINGS: dict[str, type[Settings]] = {
    "mf": MFSettings,
    "neural": NeuralSettings,
    "implicit": ImplicitMFSettings,
}

#: The defaults each engine gives the fields a model leaves as ``None``.
_ENGINE_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "mf": ENGINE_DEFAULTS,
    "implicit": IMPLICIT_ENGINE_DEFAULTS,
}


def model_flag(model: str) -> str:
    """How the command line chooses ``model``: ``--model mf``, ``--feedback implicit``."""
    return "--feedback implicit" if model == "implicit" else f"--model {model}"


def _show(value: Any) -> str:
    """A value as one types it on the command line (``32,4``, ``on``, ``off``)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (tuple, list)):
        return ",".join(_show(v) for v in value) if value else "off"
    return str(value)


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _type_name(check: Check) -> str:
    if isinstance(check, Dims):
        return "int or user,item"
    if isinstance(check, Ints):
        return "ints (a,b,...)"
    if isinstance(check, Pair):
        return "low,high or none"
    if isinstance(check, Bool):
        return "flag"
    return check.cli_type.__name__


@dataclasses.dataclass(frozen=True)
class ModelOption:
    """One ``embedlab train`` option: a settings field of one or both models."""

    #: The field name (the Python parameter).
    name: str
    #: The field of each model that has it, in :data:`MODEL_SETTINGS` order.
    fields: Mapping[str, dataclasses.Field[Any]]

    @property
    def flag(self) -> str:
        """``--field-name``."""
        return "--" + self.name.replace("_", "-")

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self.fields)

    def check(self, model: str) -> Check:
        return self.fields[model].metadata["check"]

    @property
    def cli_type(self) -> type:
        """The type the option parses: the checks' common ``cli_type``, else ``str``."""
        kinds = {self.check(m).cli_type for m in self.models}
        return kinds.pop() if len(kinds) == 1 else str

    @property
    def is_flag(self) -> bool:
        return self.cli_type is bool

    def default(self, model: str) -> Any:
        """The model's default, normalized by the check (``None`` when it means "the engine's")."""
        f = self.fields[model]
        return f.metadata["check"](f.name, f.default)

    def default_text(self, model: str) -> str:
        """The model's default as the help shows it; ``None`` that the engine decides shows
        each engine's value."""
        value = self.default(model)
        if value is not None:
            return _show(value)
        if model in _ENGINE_DEFAULTS:
            engines = self.fields[model].metadata["engines"]
            per_engine = [
                f"{engine} {_show(values[self.name])}"
                for engine, values in _ENGINE_DEFAULTS[model].items()
                if self.name in values and (engines is None or engine in engines)
            ]
            if per_engine:
                return f"per engine ({', '.join(per_engine)})"
        return "None"

    @property
    def doc(self) -> str:
        """The field's doc (each model's, when they differ), then which model and engines have it."""
        docs = {m: self.fields[m].metadata["doc"] for m in self.models}
        if len(set(docs.values())) == 1:
            text = next(iter(docs.values()))
        else:
            text = " ".join(f"{m}: {d}" for m, d in docs.items())
        for m in self.models:
            engines = self.fields[m].metadata["engines"]
            scope = f"{m} only" if len(self.models) == 1 else ""
            if engines:
                names = _and(list(engines))
                kind = f"{names} engine{'s' if len(engines) > 1 else ''}"
                scope = f"{scope}, {kind}" if scope else f"{m}: {kind} only"
            if scope:
                text += f" {scope}."
        return text

    @property
    def defaults_text(self) -> str:
        """``Default: mf 96, neural 128.`` (or ``Default: auto.`` when the models agree)."""
        shown = {m: self.default_text(m) for m in self.models}
        if len(set(shown.values())) == 1:
            return f"Default: {next(iter(shown.values()))}."
        return "Default: " + ", ".join(f"{m} {v}" for m, v in shown.items()) + "."

    @property
    def help(self) -> str:
        return f"{self.doc} {self.defaults_text}"

    @property
    def type_name(self) -> str:
        """The type column of the docs' table."""
        names = {m: _type_name(self.check(m)) for m in self.models}
        if len(set(names.values())) == 1:
            return next(iter(names.values()))
        return ", ".join(f"{n} ({m})" for m, n in names.items())

    @property
    def metavar(self) -> str | None:
        checks = [self.check(m) for m in self.models]
        if any(isinstance(c, Dims) for c in checks):
            return "DIM[,DIM]"
        if any(isinstance(c, Ints) for c in checks):
            return "N,N,..."
        if any(isinstance(c, Pair) for c in checks):
            return "LOW,HIGH"
        return None

    def annotation(self) -> Any:
        """The ``Annotated[...]`` typer builds the option from."""
        decls = f"{self.flag}/--no-{self.flag[2:]}" if self.is_flag else self.flag
        option = typer.Option(decls, help=self.help, metavar=self.metavar, show_default=False)
        return Annotated[self.cli_type | None, option]  # type: ignore[valid-type]

    def value(self, model: str, given: Any) -> Any:
        """The checked Python value, for ``model``, of the option as given on the command line.

        Raises:
            SettingsError: When the text does not parse or the value fails the check (in
                the settings' words: ``embedding_dim=0: expected ...``).
        """
        check = self.check(model)
        value = given
        if isinstance(given, str) and check.cli_type is not str:
            try:
                value = check.cli_type(given)
            except ValueError:
                raise SettingsError(f"{self.name}={given!r}: expected {check.describe()}") from None
        elif isinstance(given, str):
            value = check.parse(self.name, given)
        try:
            return check(self.name, value)
        except SettingsError:  # as typed, without the "None or" a command line cannot reach
            raise SettingsError(f"{self.name}={given!r}: expected {check.describe()}") from None


def _merged_names() -> list[str]:
    """The union of the models' ``cli=True`` fields, each model's order kept."""
    names: list[str] = []
    for cls in MODEL_SETTINGS.values():
        previous = -1
        for f in cls.fields():
            if not f.metadata["cli"]:
                continue
            if f.name in names:
                previous = names.index(f.name)
            else:
                previous += 1
                names.insert(previous, f.name)
    return names


@functools.cache
def model_options() -> tuple[ModelOption, ...]:
    """Every model option of ``embedlab train``, one per field name."""
    out = []
    for name in _merged_names():
        fields = {
            model: f
            for model, cls in MODEL_SETTINGS.items()
            for f in cls.fields()
            if f.name == name and f.metadata["cli"]
        }
        out.append(ModelOption(name, fields))
    return tuple(out)


def with_model_options(after: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command function (taking ``**options``) one keyword parameter per model
    option, placed after its parameter ``after``, so typer builds an option of each.

    Typer reads ``inspect.signature`` and ``typing.get_type_hints``; both follow
    ``__signature__`` and ``__annotations__``, which this sets.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        return splice_options(func, model_options(), after, "settings")

    return decorate


def cli_values(model: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The settings values of the model options given (``None``: left out) for ``model``.

    Raises:
        SettingsError: For an option ``model`` does not have (listing its options), or a
            value that does not parse or fails its check (naming the flag).
    """
    options = {o.name: o for o in model_options()}
    chosen = {k: v for k, v in given.items() if v is not None}
    wrong = [options[k].flag for k in chosen if model not in options[k].models]
    if wrong:
        own = ", ".join(o.flag for o in model_options() if model in o.models)
        raise SettingsError(
            f"{model_flag(model)}: {', '.join(wrong)} {'does' if len(wrong) == 1 else 'do'} "
            f"not apply; its options are {own}"
        )
    values = {}
    for name, text in chosen.items():
        try:
            values[name] = options[name].value(model, text)
        except SettingsError as exc:
            raise SettingsError(cli_message(str(exc))) from None
    return values


# ------------------------------------------------------------------ error messages
_VALUE = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\([^()]*\)|\[[^\[\]]*\]|[\w.+-]+"""


@functools.cache
def _assignment(names: tuple[str, ...] | None = None) -> re.Pattern[str]:
    names = names if names is not None else tuple(o.name for o in model_options())
    alternatives = sorted(names, key=len, reverse=True)
    return re.compile(rf"(?<![\w.-])({'|'.join(alternatives)})=({_VALUE})")


def _cli_value(text: str) -> str:
    """A Python repr in a message, as one types it on the command line."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        inner = text[1:-1]
        return inner if inner and not re.search(r"\s", inner) else text
    if text[0] in "([":
        return text[1:-1].replace(" ", "").rstrip(",") or "off"
    return "none" if text == "None" else text


def _flag(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    flag = "--" + name.replace("_", "-")
    if value == "True":
        return flag
    if value == "False":
        return f"--no-{flag[2:]}"
    return f"{flag} {_cli_value(value)}"


def cli_message(message: str, names: tuple[str, ...] | None = None) -> str:
    """A settings message with its Python assignments as flags: ``embedding_dim=0: expected
    ...`` becomes ``--embedding-dim 0: expected ...``, ``engine='sgd'`` ``--engine sgd``.

    ``names``: the parameters to translate (None: the model options of ``train``)."""
    return _assignment(names).sub(_flag, message)


# ------------------------------------------------------------------ docs
def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def options_markdown() -> str:
    """The docs' section "Model options of ``embedlab train``" (a Markdown table)."""
    columns = " | ".join(f"{m} default" for m in MODEL_SETTINGS)
    lines = [
        "#### Model options of `embedlab train`",
        "",
        "Generated from the settings classes (`embedlab.settings.MFSettings`,",
        "`NeuralSettings` and `ImplicitMFSettings`), so each option is the Python parameter",
        "of the same name. The implicit column is `--feedback implicit`'s model,",
        "`ImplicitMatrixFactorization`. An option left out keeps the model's default;",
        '"per engine" defaults are chosen by the engine that trains the model',
        "(`--engine auto` picks one).",
        "",
        f"| option | type | {columns} | meaning |",
        "|---|---|" + "---|" * len(MODEL_SETTINGS) + "---|",
    ]
    for o in model_options():
        names = f"`{o.flag}`, `--no-{o.flag[2:]}`" if o.is_flag else f"`{o.flag}`"
        defaults = [f"`{o.default_text(m)}`" if m in o.models else "—" for m in MODEL_SETTINGS]
        lines.append(
            f"| {names} | {_cell(o.type_name)} | {' | '.join(map(_cell, defaults))} "
            f"| {_cell(o.doc)} |"
        )
    return "\n".join(lines) + "\n"
