"""Frozen value classes that cost next to nothing to define at import.

``@dataclass`` writes each class's ``__init__``, ``__repr__``, ``__eq__``,
``__hash__`` and ``__setattr__`` as source text and compiles it with ``exec``
when the module is imported: about 1.3 ms a class in Pyodide, so the 21 data
classes of ``import pf_browser`` were about half its time
(``benchmarks/bench_import.py``). :class:`Frozen` has those methods written
once, here, and compiled with the wheel's bytecode; each class only lists its
fields in ``__slots__`` and writes its own ``__init__``.

They behave as the frozen dataclasses they replace: equality and hashing by
value (fields in ``_uncompared`` left out), a repr that leaves out the fields
in ``_hidden`` (secrets, whole file contents), assignment raising
:class:`dataclasses.FrozenInstanceError`, ``__match_args__``, ``copy``,
``pickle`` and ``copy.replace``. And they are dataclasses to the
:mod:`dataclasses` module (``is_dataclass``, ``fields``, ``asdict``,
``astuple``, ``replace``): their field table is built the first time
something asks for it (:func:`_field_table`), never at import.
tests/test_frozen.py checks every public class against these rules.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import TYPE_CHECKING, Any, ClassVar, dataclass_transform

if TYPE_CHECKING:
    from dataclasses import Field

__all__ = ["Frozen", "set_field"]

#: Sets a field of a new instance (what a frozen dataclass's __init__ does).
set_field = object.__setattr__


class _FieldTable:
    """``__dataclass_fields__`` of a :class:`Frozen` class, built when first read."""

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute

    def __get__(self, instance: object, owner: type[Frozen]) -> Any:
        fields, params = _field_table(owner)
        # Cached on the class itself: later reads never come back here.
        type.__setattr__(owner, "__dataclass_fields__", fields)
        type.__setattr__(owner, "__dataclass_params__", params)
        return fields if self.attribute == "__dataclass_fields__" else params


def _field_table(cls: type[Frozen]) -> tuple[dict[str, Field[Any]], Any]:
    """The dataclass fields of ``cls``: each slot, in order, with its annotation;
    ``init`` and the default from ``cls.__init__``'s parameters."""
    import dataclasses
    import inspect

    parameters = inspect.signature(cls.__init__).parameters
    annotations = inspect.get_annotations(cls)
    specs: list[tuple[str, Any, Any]] = []
    for name in cls.__slots__:
        parameter = parameters.get(name)
        options: dict[str, Any] = {"repr": name not in cls._hidden,
                                   "compare": name not in cls._uncompared}
        if parameter is None:
            options["init"] = False
        elif parameter.default is not parameter.empty:
            options["default"] = parameter.default
        specs.append((name, annotations.get(name, "Any"), dataclasses.field(**options)))
    shadow = dataclasses.make_dataclass(cls.__name__, specs, frozen=True)
    return shadow.__dataclass_fields__, shadow.__dataclass_params__  # type: ignore[attr-defined]


# dataclass_transform: type checkers see the subclasses as the frozen
# dataclasses they behave as (each one's own __init__ is its signature).
@dataclass_transform(frozen_default=True)
class Frozen:
    """Base of the SDK's immutable value classes (see the module's docstring)."""

    __slots__: ClassVar[tuple[str, ...]] = ()
    #: Fields left out of the repr (secrets, large contents).
    _hidden: ClassVar[tuple[str, ...]] = ()
    #: Fields left out of equality and the hash.
    _uncompared: ClassVar[tuple[str, ...]] = ()

    if TYPE_CHECKING:
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]
    else:
        __dataclass_fields__ = _FieldTable("__dataclass_fields__")
        __dataclass_params__ = _FieldTable("__dataclass_params__")

    def _values(self) -> tuple[Any, ...]:
        uncompared = self._uncompared
        return tuple(getattr(self, name) for name in self.__slots__ if name not in uncompared)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        hidden = self._hidden
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__
                          if name not in hidden)
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    # copy and pickle set the fields back through __setstate__, not __setattr__.
    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self.__slots__, state, strict=True):
            set_field(self, name, value)

    def __replace__(self, **changes: Any) -> Any:
        """``copy.replace(value, field=...)`` (Python 3.13+), as ``dataclasses.replace``."""
        import dataclasses
        return dataclasses.replace(self, **changes)
