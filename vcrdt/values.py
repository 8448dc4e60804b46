"""Immutable slotted value classes without the dataclass machinery.

`Value` is the base of the small record classes on the start-up path. `dataclasses` (with the
inspect, ast and dis modules it imports, and the code it compiles for every class) costs each
command milliseconds of start-up; `Value` gives the same behaviour as
``@dataclass(frozen=True, slots=True, init=False)`` from the class's fields alone, with no code
generated per class. A subclass lists its fields in `__slots__` (declaration order), annotates
them, and writes its own `__init__`, setting each field through ``object.__setattr__``.

It provides, from the fields of `__slots__` along the MRO (base fields first):

- assignment and deletion refused (``cannot assign to field 'x': Name is immutable``);
- `__eq__`: same class and equal fields (NotImplemented for any other class);
- `__hash__`: the hash of the field tuple;
- `__repr__`: ``Name(field=value, ...)``;
- `__reduce__`: copy and pickle through `__init__` with the fields as positional arguments.

A subclass may define any of these itself (ordering, a narrower equality); its own wins.

For the type checker `value_class` is `dataclasses.dataclass`: decorated with
``@value_class(frozen=True, init=False, repr=False, eq=False)`` a subclass's fields are read-only
to mypy. At run time the decorator returns the class unchanged.

Imports nothing from vcrdt and nothing the interpreter has not already loaded at start-up.
"""

from __future__ import annotations

try:  # operator's C function, without loading operator.py (about 1.3 M instructions)
    from _operator import attrgetter
except ImportError:  # another interpreter
    from operator import attrgetter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from dataclasses import dataclass as value_class
else:

    def value_class(**_options: bool) -> Callable[[type], type]:
        """Return the identity decorator (at type-check time: `dataclasses.dataclass`)."""
        return _same


def _same(cls: type) -> type:
    return cls


__all__ = ["Record", "Value", "value_class"]


def _no_values(_obj: object) -> tuple[object, ...]:
    return ()


def _one_tuple(name: str) -> Callable[[object], tuple[object, ...]]:
    get = attrgetter(name)

    def values(obj: object) -> tuple[object, ...]:
        return (get(obj),)

    return values


class _Fields:
    """The fields of `__slots__` along the MRO, equality and repr from them (the two bases below)."""

    __slots__ = ()

    # The field names in declaration order, and a getter returning their values as a tuple;
    # both set once per class by __init_subclass__.
    _fields: tuple[str, ...] = ()
    _values: Callable[[object], tuple[object, ...]]

    def __init_subclass__(cls) -> None:
        fields: list[str] = []
        for klass in reversed(cls.__mro__):
            slots = klass.__dict__.get("__slots__", ())
            for name in (slots,) if isinstance(slots, str) else slots:
                if name not in fields and name not in ("__weakref__", "__dict__"):
                    fields.append(name)
        cls._fields = tuple(fields)
        # attrgetter of two or more names returns a tuple; of one name the bare value.
        if not fields:
            cls._values = staticmethod(_no_values)
        elif len(fields) == 1:
            cls._values = staticmethod(_one_tuple(fields[0]))
        else:
            cls._values = staticmethod(attrgetter(*fields))

    def _key(self) -> tuple[object, ...]:
        """Return the fields' values, in declaration order."""
        return self._values(self)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            get = self._values
            return get(self) == get(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields) + ")"


class Record(_Fields):
    """Base of a mutable slotted record: equality and repr from its fields, unhashable (a mutable dataclass)."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]


class Value(_Fields):
    """Base of an immutable slotted value class; see the module docstring."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: {type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: {type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (self.__class__, self._values(self))  # copy and pickle through __init__ (assignment is refused)

    def __hash__(self) -> int:
        return hash(self._values(self))
