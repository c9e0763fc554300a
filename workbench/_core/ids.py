"""Identifier columns read from a CSV as they were meant: integers stay integers, codes stay text.

A CSV has no types. Read as text, an identifier ``007`` keeps its zeros, but an integer ``ID`` then
comes out of ``workbench score`` as text, and merging the scores back on the user's table (where
pandas reads it as an integer) fails. :func:`integer_ids` reads only the identifier columns, as
text, and names those whose every value is an integer written plainly (no leading zero, no sign
but a minus, within 64 bits); :func:`typed_ids` gives those columns the nullable ``Int64`` type in
each chunk, so every chunk of a file agrees.

Example:
    >>> import pandas as pd
    >>> chunk = pd.DataFrame({"id": ["1", "22", None], "code": ["007", "1", "2"]})
    >>> typed_ids(chunk, {"id"}).dtypes.astype(str).to_dict()
    {'id': 'Int64', 'code': 'object'}
"""

from __future__ import annotations

import os
import re

import pandas as pd

__all__ = ["integer_ids", "plain_integers", "typed_ids"]

_INTEGER = re.compile(r"^(?:0|-?[1-9][0-9]{0,17})$")  # 18 digits: always inside int64


def integer_ids(path: str | os.PathLike, ids: list[str], chunk_rows: int = 200_000) -> set[str]:
    """The identifier columns of the CSV at ``path`` that hold only plainly written integers
    (empty cells allowed)."""
    if not ids:
        return set()
    plain = set(ids)
    for chunk in pd.read_csv(path, usecols=ids, dtype=str, chunksize=chunk_rows):
        for name in list(plain):
            values = chunk[name].dropna()
            if not values.map(lambda v: bool(_INTEGER.match(v))).all():
                plain.discard(name)
        if not plain:
            break
    return plain


def plain_integers(frame: pd.DataFrame, ids: list[str]) -> set[str]:
    """The columns among ``ids`` of a frame of text (a CSV request) that hold only plainly written
    integers (gaps allowed): the rule of :func:`integer_ids`, on rows in memory."""
    return {
        name
        for name in ids
        if name in frame.columns
        and frame[name].dropna().map(lambda v: isinstance(v, str) and bool(_INTEGER.match(v))).all()
    }


def typed_ids(chunk: pd.DataFrame, integers: set[str]) -> pd.DataFrame:
    """``chunk`` with the :func:`integer_ids` columns as ``Int64``."""
    for name in integers & set(chunk.columns):
        chunk[name] = pd.to_numeric(chunk[name]).astype("Int64")
    return chunk
