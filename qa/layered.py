"""A read-only dict that changes by layers: a snapshot's lookups (by path, by name) change
by the few documents a change touches, without copying tens of thousands of keys."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

_GONE = object()  # a key removed in a layer


class Layered(Mapping[K, V], Generic[K, V]):
    """A mapping made of layers, newest first: each holds one change's keys (a removed key
    maps to a marker) over the one below. Every DEPTH changes the layers are flattened into
    one dict, so a change costs its own keys plus a copy shared by DEPTH changes, and a
    lookup at most DEPTH dict lookups."""

    DEPTH = 16

    def __init__(self, base: Mapping[K, V] | None = None) -> None:
        self._layers: tuple[dict[K, object], ...] = (dict(base or {}),)
        self._size = len(self._layers[0])

    def changed(self, put: Mapping[K, V], drop: set[K] | frozenset[K] = frozenset()) -> Layered:
        """A new mapping: this one without the keys `drop`, then with `put` (which wins)."""
        layer: dict[K, object] = {key: _GONE for key in drop if key in self}
        layer.update(put)
        size = self._size
        for key, value in layer.items():
            size += (value is not _GONE) - (key in self)
        new = Layered.__new__(Layered)
        new._size = size
        new._layers = (layer, *self._layers)
        if len(new._layers) > self.DEPTH:
            new._layers = (new._flattened(),)
        return new

    def _flattened(self) -> dict[K, object]:
        flat = dict(self._layers[-1])  # the bottom layer removes nothing
        for layer in reversed(self._layers[:-1]):
            for key, value in layer.items():
                if value is _GONE:
                    del flat[key]
                else:
                    flat[key] = value
        return flat

    def _find(self, key: object) -> object:
        for layer in self._layers:
            if key in layer:
                return layer[key]
        return _GONE

    def __getitem__(self, key: K) -> V:
        value = self._find(key)
        if value is _GONE:
            raise KeyError(key)
        return value  # type: ignore[return-value]

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, default: V | T, /) -> V | T: ...
    def get(self, key: K, default: object = None, /) -> object:
        value = self._find(key)
        return default if value is _GONE else value

    def __contains__(self, key: object) -> bool:
        return self._find(key) is not _GONE

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[K]:
        return iter(self._flattened())
