"""The phone directory: which number a member of staff is texted on.

klagomal names staff as the case and the organisation file write them
(``"Enhetschef Lena Holm"``); the directory maps those names to numbers.  It
is a TOML file with one table, ``[numbers]``::

    [numbers]
    "Enhetschef Lena Holm" = "070-123 45 67"
    "Avdelningschef Birgitta Åberg" = "+46 70 765 43 21"

Numbers are normalised to E.164 when the file is loaded; every invalid entry
is reported at once, so that one fix makes the file good.
"""

from __future__ import annotations

import os
import pathlib
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping

from klagomal_sms._errors import DirectoryError, UnknownRecipientError
from klagomal_sms._numbers import normalise_number

__all__ = ["PhoneDirectory"]

#: The one table a directory file has.
TABLE = "numbers"


def _key(name: str) -> str:
    """How names are compared: Unicode-normalised, spaces collapsed, case ignored,
    so that ``"enhetschef  Lena Holm"`` finds ``"Enhetschef Lena Holm"``."""
    return " ".join(unicodedata.normalize("NFC", name).split()).casefold()


class PhoneDirectory(Mapping[str, str]):
    """Staff names mapped to E.164 numbers; a read-only mapping.

    :param numbers: names and numbers, written any way
        :func:`~klagomal_sms.normalise_number` accepts.
    :param source: where they came from (a file name), for error messages.
    :raises DirectoryError: naming every invalid entry.
    """

    def __init__(self, numbers: Mapping[str, object], *, source: str | None = None) -> None:
        self.source = source
        self._numbers: dict[str, str] = {}
        self._names: dict[str, str] = {}
        problems: list[str] = []
        for name, raw in numbers.items():
            key = _key(name)
            if not key:
                problems.append(f"ett tomt namn har numret {raw!r}")
                continue
            if key in self._names:
                problems.append(f"'{name}' står två gånger (även som '{self._names[key]}')")
                continue
            if not isinstance(raw, str):
                problems.append(
                    f"numret för '{name}' ska skrivas inom citattecken, till exempel \"070-123 45 67\""
                )
                continue
            try:
                number = normalise_number(raw)
            except ValueError as exc:
                problems.append(f"numret {raw!r} för '{name}' är ogiltigt: {exc}")
                continue
            self._names[key] = name
            self._numbers[key] = number
        if problems:
            raise DirectoryError(self._where() + ": " + "; ".join(problems))

    @classmethod
    def from_toml(cls, text: str, *, source: str | None = None) -> PhoneDirectory:
        """A directory from the text of a directory file."""
        where = f"telefonkatalogen {source}" if source else "telefonkatalogen"
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise DirectoryError(f"{where} är inte giltig TOML: {exc}") from None
        unknown = sorted(set(data) - {TABLE})
        if unknown:
            raise DirectoryError(
                f"{where}: okända nycklar {', '.join(unknown)}; namn och nummer skrivs under [{TABLE}]"
            )
        numbers = data.get(TABLE)
        if not isinstance(numbers, dict):
            raise DirectoryError(f"{where} saknar tabellen [{TABLE}] med namn och nummer")
        return cls(numbers, source=source)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PhoneDirectory:
        """The directory in the TOML file at *path*.

        :raises DirectoryError: when the file cannot be read or is invalid.
        """
        file = pathlib.Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise DirectoryError(f"telefonkatalogen {file} kan inte läsas: {reason}") from None
        return cls.from_toml(text, source=str(file))

    def _where(self) -> str:
        return f"telefonkatalogen {self.source}" if self.source else "telefonkatalogen"

    def number_for(self, name: str) -> str:
        """The E.164 number of *name*.

        :raises UnknownRecipientError: when *name* is not in the directory.
        """
        try:
            return self._numbers[_key(name)]
        except KeyError:
            raise UnknownRecipientError(name, self.source) from None

    def __getitem__(self, name: str) -> str:
        try:
            return self._numbers[_key(name)]
        except KeyError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._names.values())

    def __len__(self) -> int:
        return len(self._numbers)

    def __repr__(self) -> str:
        return f"PhoneDirectory({len(self)} names, source={self.source!r})"
