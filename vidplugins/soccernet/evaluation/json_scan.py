"""One-pass reader of the columns of a ``results_spotting.json`` file, compiled with numba.

Reading SoccerNet prediction files dominates the Average-mAP evaluator's time: parsing a file of
~6,000 predictions into Python dicts and pulling four columns out of them costs ~5 ms. This
module validates the whole file as JSON and extracts, per entry of the top-level
``"predictions"`` array, the class index of ``label``, ``half``, ``position`` and the text of
``confidence``, in one compiled pass over the bytes (~1 ms).

It is a fast path, never a second definition of the format. It accepts a strict subset of JSON
(ASCII only, no escape sequences, nesting depth <= 64) and of the entries
``average_map._prediction_columns_fast`` handles (``label`` a string; ``half`` exactly ``1`` or
``2``, as a number or a string; ``position`` 1 to 18 decimal digits, as a number or a string;
``confidence``, read only for entries of a known label, a JSON number or a string spelling one;
no repeated key). For anything else, valid or not, it answers "fall back" and the caller parses
the file with orjson and the per-entry rules, which give the same columns on every file this
scanner accepts (``tests/rmsnet/test_json_scan.py`` checks that on generated and mutated files)
and the error messages on broken ones.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

try:  # numba ships with the stack (face_alignment / facexlib require it); without it: no fast path
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

#: Results of ``scan_predictions``.
OK, FALLBACK = 0, 1
_MAX_DEPTH = 64
# Field ids of the entry keys this scanner reads.
_LABEL, _HALF, _POSITION, _CONFIDENCE = 0, 1, 2, 3


def _jit(func):
    """``numba.njit`` with an on-disk cache, or None without numba."""
    if numba is None:
        return None
    return numba.njit(cache=True, nogil=True)(func)


def _skip_ws(buf, i):
    n = len(buf)
    while i < n and (buf[i] == 32 or buf[i] == 10 or buf[i] == 13 or buf[i] == 9):
        i += 1
    return i


def _string_end(buf, i):
    """Index of the closing quote of the string opening at ``buf[i]``; -1 if out of subset."""
    n = len(buf)
    i += 1
    while i < n:
        c = buf[i]
        if c == 34:
            return i
        if c == 92 or c < 32 or c >= 128:  # escapes, control characters, non-ASCII: fall back
            return -1
        i += 1
    return -1


def _is_digit(c):
    return 48 <= c <= 57


def _number_end(buf, i, stop):
    """End (exclusive) of the JSON number starting at ``buf[i]`` (RFC 8259 grammar), or -1.

    Reads no further than ``stop``.
    """
    if i < stop and buf[i] == 45:  # '-'
        i += 1
    if i >= stop or not _is_digit(buf[i]):
        return -1
    if buf[i] == 48:  # a leading 0 stands alone
        i += 1
    else:
        while i < stop and _is_digit(buf[i]):
            i += 1
    if i < stop and buf[i] == 46:  # '.' digits
        i += 1
        if i >= stop or not _is_digit(buf[i]):
            return -1
        while i < stop and _is_digit(buf[i]):
            i += 1
    if i < stop and (buf[i] == 101 or buf[i] == 69):  # e / E [+-] digits
        i += 1
        if i < stop and (buf[i] == 43 or buf[i] == 45):
            i += 1
        if i >= stop or not _is_digit(buf[i]):
            return -1
        while i < stop and _is_digit(buf[i]):
            i += 1
    return i


def _literal_end(buf, i):
    """End of ``true`` / ``false`` / ``null`` at ``buf[i]``, or -1."""
    n = len(buf)
    if buf[i] == 116 and i + 4 <= n and buf[i + 1] == 114 and buf[i + 2] == 117 \
            and buf[i + 3] == 101:
        return i + 4
    if buf[i] == 102 and i + 5 <= n and buf[i + 1] == 97 and buf[i + 2] == 108 \
            and buf[i + 3] == 115 and buf[i + 4] == 101:
        return i + 5
    if buf[i] == 110 and i + 4 <= n and buf[i + 1] == 117 and buf[i + 2] == 108 \
            and buf[i + 3] == 108:
        return i + 4
    return -1


def _key_then_colon(buf, i):
    """At a key's opening quote: the index of the value after ``"key" :``, or -1."""
    n = len(buf)
    if i >= n or buf[i] != 34:
        return -1
    j = _string_end(buf, i)
    if j < 0:
        return -1
    i = _skip_ws(buf, j + 1)
    if i >= n or buf[i] != 58:  # ':'
        return -1
    return _skip_ws(buf, i + 1)


def _value_end(buf, i, stack):
    """End (exclusive) of the JSON value starting at ``buf[i]``, validating it; -1 if invalid.

    Iterative, with ``stack`` (uint8, ``_MAX_DEPTH``) holding the open containers.
    """
    n = len(buf)
    depth = 0
    while True:
        # A value is expected at i.
        i = _skip_ws(buf, i)
        if i >= n:
            return -1
        c = buf[i]
        if c == 123 or c == 91:  # '{' or '['
            close = 125 if c == 123 else 93
            i = _skip_ws(buf, i + 1)
            if i < n and buf[i] == close:
                i += 1
            else:
                if depth == _MAX_DEPTH:
                    return -1
                stack[depth] = c
                depth += 1
                if c == 123:
                    i = _key_then_colon(buf, i)
                    if i < 0:
                        return -1
                continue
        elif c == 34:
            j = _string_end(buf, i)
            if j < 0:
                return -1
            i = j + 1
        elif c == 45 or _is_digit(c):
            i = _number_end(buf, i, n)
            if i < 0:
                return -1
        else:
            i = _literal_end(buf, i)
            if i < 0:
                return -1
        # A value just ended: close containers until one continues with ','.
        while True:
            if depth == 0:
                return i
            i = _skip_ws(buf, i)
            if i >= n:
                return -1
            c = buf[i]
            top = stack[depth - 1]
            if c == 44:  # ','
                i = _skip_ws(buf, i + 1)
                if top == 123:
                    i = _key_then_colon(buf, i)
                    if i < 0:
                        return -1
                break
            if (c == 125 and top == 123) or (c == 93 and top == 91):
                depth -= 1
                i += 1
                continue
            return -1


def _row_equals(buf, start, end, table, row, length):
    """Whether ``buf[start:end]`` spells ``table[row, :length]``."""
    if end - start != length:
        return False
    for k in range(length):
        if buf[start + k] != table[row, k]:
            return False
    return True


def _row_index(buf, start, end, table, lengths):
    """Index of the row of ``table`` (NUL-padded words, ``lengths``) that ``buf[start:end]``
    spells, or -1 (field names and class names alike)."""
    for r in range(table.shape[0]):
        if _row_equals(buf, start, end, table, r, lengths[r]):
            return r
    return -1


def _next_member(buf, i, closer):
    """After a member of a container: ``(start of the next member, 0)`` after a ``,``,
    ``(index after the container, 1)`` at ``closer``, else ``(-1, -1)``."""
    n = len(buf)
    i = _skip_ws(buf, i)
    if i < n and buf[i] == 44:
        return _skip_ws(buf, i + 1), 0
    if i < n and buf[i] == closer:
        return i + 1, 1
    return -1, -1


def _read_entry(buf, i, field_names, field_lengths, start, end, is_string, stack):
    """Validate the entry object opening at ``buf[i]`` and find its read fields' value texts.

    Fills ``start`` / ``end`` / ``is_string`` (4,) for ``label``, ``half``, ``position``,
    ``confidence`` (-1: absent). Returns the index after the entry, or -1 to fall back (invalid
    JSON, a repeated read field, or a read field whose value is not a string or a number).
    """
    n = len(buf)
    for f in range(4):
        start[f], end[f], is_string[f] = -1, -1, False
    if i >= n or buf[i] != 123:
        return -1
    i = _skip_ws(buf, i + 1)
    if i < n and buf[i] == 125:
        return -1  # an empty entry lacks the fields
    while True:
        if i >= n or buf[i] != 34:
            return -1
        key_end = _string_end(buf, i)
        if key_end < 0:
            return -1
        field = _row_index(buf, i + 1, key_end, field_names, field_lengths)
        if field == 4:  # "predictions" inside an entry is just another key
            field = -1
        i = _key_then_colon(buf, i)
        if i < 0 or i >= n or (field >= 0 and start[field] >= 0):
            return -1
        c = buf[i]
        if c == 34:
            j = _string_end(buf, i)
            if j < 0:
                return -1
            if field >= 0:
                start[field], end[field], is_string[field] = i + 1, j, True
            i = j + 1
        elif c == 45 or _is_digit(c):
            j = _number_end(buf, i, n)
            if j < 0:
                return -1
            if field >= 0:
                start[field], end[field] = i, j
            i = j
        else:
            if field >= 0:
                return -1  # null, true, a list... for a read field
            i = _value_end(buf, i, stack)
            if i < 0:
                return -1
        i, closed = _next_member(buf, i, 125)
        if closed < 0:
            return -1
        if closed:
            return i


def _digits_value(buf, s, e):
    """The integer spelled by 1 to 18 decimal digits ``buf[s:e]``, or -1."""
    if e - s < 1 or e - s > 18:
        return -1
    value = 0
    for k in range(s, e):
        if not _is_digit(buf[k]):
            return -1
        value = value * 10 + (buf[k] - 48)
    return value


def _scan(buf, field_names, field_lengths, names, lengths, strict_labels, label, half,
          position, conf_start, conf_end):
    """Fill the output columns from ``buf``; returns (status, number of entries).

    Args:
        buf: (n,) uint8, the file's bytes.
        field_names, field_lengths: (5, 11) uint8 NUL-padded ``label``, ``half``,
            ``position``, ``confidence``, ``predictions`` and their lengths.
        names, lengths: (C, W) uint8 NUL-padded class names and their lengths.
        strict_labels: an unknown label means fall back (v1, where upstream fails on them).
        label, half, position, conf_start, conf_end: (capacity,) int64 outputs; ``conf_*`` are
            the bounds of the confidence's number text (-1 for entries of unknown label).
    """
    n = len(buf)
    stack = np.zeros(_MAX_DEPTH, np.uint8)
    start = np.empty(4, np.int64)  # per read field of the current entry: value text bounds
    end = np.empty(4, np.int64)
    is_string = np.empty(4, np.bool_)
    count = 0
    found = False
    i = _skip_ws(buf, 0)
    if i >= n or buf[i] != 123:
        return FALLBACK, 0
    i = _skip_ws(buf, i + 1)
    if i < n and buf[i] == 125:
        return FALLBACK, 0  # no "predictions": the caller's parser reports it
    while True:  # the top-level members
        if i >= n or buf[i] != 34:
            return FALLBACK, 0
        key_end = _string_end(buf, i)
        if key_end < 0:
            return FALLBACK, 0
        is_predictions = _row_index(buf, i + 1, key_end, field_names, field_lengths) == 4
        i = _key_then_colon(buf, i)
        if i < 0 or i >= n:
            return FALLBACK, 0
        if not is_predictions:
            i = _value_end(buf, i, stack)
            if i < 0:
                return FALLBACK, 0
        else:
            if found or buf[i] != 91:  # a repeated key, or not an array
                return FALLBACK, 0
            found = True
            i = _skip_ws(buf, i + 1)
            closed = 0
            if i < n and buf[i] == 93:
                i, closed = i + 1, 1
            while not closed:  # the entries
                if count == len(label):
                    return FALLBACK, 0
                i = _read_entry(buf, i, field_names, field_lengths, start, end, is_string, stack)
                if i < 0 or start[_LABEL] < 0 or start[_HALF] < 0 or start[_POSITION] < 0 \
                        or not is_string[_LABEL]:
                    return FALLBACK, 0
                cls = _row_index(buf, start[_LABEL], end[_LABEL], names, lengths)
                h = start[_HALF]
                value = _digits_value(buf, start[_POSITION], end[_POSITION])
                if (cls < 0 and strict_labels) or end[_HALF] - h != 1 \
                        or (buf[h] != 49 and buf[h] != 50) or value < 0:
                    return FALLBACK, 0
                label[count], half[count], position[count] = cls, buf[h] - 48, value
                conf_start[count], conf_end[count] = -1, -1
                if cls >= 0:  # only kept entries need a confidence, as upstream reads it
                    s, e = start[_CONFIDENCE], end[_CONFIDENCE]
                    if s < 0 or (is_string[_CONFIDENCE] and _number_end(buf, s, e) != e):
                        return FALLBACK, 0
                    conf_start[count], conf_end[count] = s, e
                count += 1
                i, closed = _next_member(buf, i, 93)
                if closed < 0:
                    return FALLBACK, 0
        i, closed = _next_member(buf, i, 125)
        if closed < 0:
            return FALLBACK, 0
        if closed:
            break
    if _skip_ws(buf, i) != n or not found:
        return FALLBACK, 0
    return OK, count


def _join_spans(buf, starts, ends):
    """``[`` + the texts ``buf[starts[k]:ends[k]]`` joined by ``,`` + ``]``, as uint8."""
    total = 1 + len(starts)
    for k in range(len(starts)):
        total += ends[k] - starts[k]
    out = np.empty(max(total, 2), np.uint8)
    out[0] = 91
    p = 1
    for k in range(len(starts)):
        if k:
            out[p] = 44
            p += 1
        for j in range(starts[k], ends[k]):
            out[p] = buf[j]
            p += 1
    out[p] = 93
    return out[:p + 1]


_FUNCTIONS = ('_skip_ws', '_string_end', '_is_digit', '_number_end', '_literal_end',
              '_key_then_colon', '_value_end', '_row_equals', '_row_index',
              '_next_member', '_read_entry', '_digits_value', '_scan', '_join_spans')
if numba is not None:  # compile the helpers first: the later ones call the jitted earlier ones
    for _name in _FUNCTIONS:
        globals()[_name] = _jit(globals()[_name])

_FIELDS = (b'label', b'half', b'position', b'confidence', b'predictions')


def _padded(words: Sequence[bytes]) -> Tuple[np.ndarray, np.ndarray]:
    width = max(len(w) for w in words)
    table = np.zeros((len(words), width), np.uint8)
    for k, w in enumerate(words):
        table[k, :len(w)] = np.frombuffer(w, np.uint8)
    return table, np.array([len(w) for w in words], np.int64)


_FIELD_TABLE, _FIELD_LENGTHS = _padded(_FIELDS)


def scan_predictions(data: bytes, class_names: Sequence[str], strict_labels: bool):
    """Columns of a ``results_spotting.json`` file's entries, or None to fall back.

    Args:
        data: the file's bytes.
        class_names: the classes, in index order (labels match exactly).
        strict_labels: fall back at the first unknown label (v1) instead of marking it -1 (v2).

    Returns:
        None when numba is missing or the file is outside the subset this scanner reads (see the
        module docstring); else ``(label, half, position, confidence_text)``: (N,) int64 arrays
        over the N entries in file order (label -1 for unknown labels, half 1 or 2) and the JSON
        array text (bytes) of the confidences of the known-label entries, in order.
    """
    if numba is None:
        return None
    buf = np.frombuffer(data, np.uint8)
    names, lengths = _padded([n.encode('ascii') for n in class_names])
    capacity = len(buf) // 30 + 1  # an entry with the three required keys takes > 30 bytes
    label, half, position, conf_start, conf_end = (np.empty(capacity, np.int64)
                                                   for _ in range(5))
    status, count = _scan(buf, _FIELD_TABLE, _FIELD_LENGTHS, names, lengths, strict_labels,
                          label, half, position, conf_start, conf_end)
    if status != OK:
        return None
    known = conf_start[:count] >= 0
    text = _join_spans(buf, conf_start[:count][known], conf_end[:count][known]).tobytes()
    return label[:count], half[:count], position[:count], text


def warm_up() -> None:
    """Compile (or load from the on-disk cache) the scanner in this process, e.g. before forking
    reader processes, which would otherwise each load it again."""
    scan_predictions(b'{"predictions": [{"label": "a", "half": 1, "position": 0, '
                     b'"confidence": 0.5}]}', ('a', ), strict_labels=False)


def available() -> bool:
    """Whether the compiled fast path can run here."""
    return numba is not None

