"""Groups of command-line options that several commands share, declared once.

Typer builds a command's flags from its function signature, so a set of options
that several commands accept (the report input files, the training-set settings)
would otherwise be written out again in every signature, defaults included, and
passed on one argument at a time. Here such a set is a dataclass whose fields are
the options, ``name: Annotated[type, typer.Option(...)] = default``; a command
takes one parameter of that type and :func:`with_options` gives it the fields'
flags in that parameter's place. The flags, their help and their defaults are
exactly what they would be if each command declared them itself.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")


def with_options(
    group: type, *fields: str, **defaults: Any
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Replace a command's ``group``-typed parameter with the group's options.

    ``fields`` are the options the command offers, in the order ``--help`` lists
    them (default: every field, in the dataclass's order); the fields left out keep
    the dataclass's default. ``defaults`` give this command its own default for
    some of them (``on_leak="drop"``). The command is called with one ``group``
    instance built from the flags.
    """
    if not dataclasses.is_dataclass(group):
        raise TypeError(f"{group.__name__} is not a dataclass")
    known = {f.name: f for f in dataclasses.fields(group)}
    chosen = fields or tuple(known)
    unknown = [n for n in (*chosen, *defaults) if n not in known]
    if unknown:
        raise TypeError(f"{group.__name__} has no option {', '.join(unknown)}")
    if stray := [n for n in defaults if n not in chosen]:
        raise TypeError(f"a default for {', '.join(stray)}, which the command does not offer")
    for name, field in known.items():
        if name not in chosen and field.default is dataclasses.MISSING:
            raise TypeError(f"{group.__name__}.{name} has no default; the command must offer it")
    # Resolved here because the modules use `from __future__ import annotations`
    # and Typer reads the annotations of the function it is given, not of ours.
    option_types = typing.get_type_hints(group, include_extras=True)

    def decorate(command: Callable[..., R]) -> Callable[..., R]:
        hints = typing.get_type_hints(command, include_extras=True)
        signature = inspect.signature(command)
        slots = [n for n in signature.parameters if hints.get(n) is group]
        if len(slots) != 1:
            raise TypeError(f"{command.__name__} needs one parameter of type {group.__name__}")
        [slot] = slots
        clash = [n for n in chosen if n in signature.parameters]
        if clash:
            raise TypeError(f"{command.__name__} already has a parameter {', '.join(clash)}")
        params = []
        for name, param in signature.parameters.items():
            if name != slot:
                # Keyword-only, so a required option may follow one with a default.
                params.append(
                    param.replace(
                        annotation=hints.get(name, param.annotation),
                        kind=inspect.Parameter.KEYWORD_ONLY,
                    )
                )
                continue
            for option in chosen:
                default = defaults.get(option, known[option].default)
                params.append(
                    inspect.Parameter(
                        option,
                        inspect.Parameter.KEYWORD_ONLY,
                        default=inspect.Parameter.empty
                        if default is dataclasses.MISSING
                        else default,
                        annotation=option_types[option],
                    )
                )

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> R:
            values = {n: kwargs.pop(n) for n in chosen}
            return command(**kwargs, **{slot: group(**values)})

        wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=params, return_annotation=hints.get("return", signature.return_annotation)
        )
        wrapper.__annotations__ = {p.name: p.annotation for p in params} | {
            "return": hints.get("return")
        }
        return wrapper

    return decorate
