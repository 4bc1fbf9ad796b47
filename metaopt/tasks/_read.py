"""Reading tabular files into raw DataFrames: CSV-like text, Parquet and ARFF.

:func:`read_table` returns the raw frame (as close to the file as possible: strings
stay strings, the column typing happens in :mod:`metaopt.tasks._columns`) plus facts
about how the file was read (format, encoding, delimiter), which the loader records in
``Task.provenance``.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaopt._exceptions import ColumnError, DataFormatError
from metaopt.preprocessing._coerce import MISSING_TOKENS

__all__ = ["RawTable", "TEXT_SUFFIXES", "read_table"]

#: File name endings read as delimited text (the delimiter is sniffed).
TEXT_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".txt", ".dat", ".data", "")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_ARFF_SUFFIXES = (".arff",)
_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", r"\s+": "whitespace"}

# Formats users try that metaopt does not read, with the fix.
_UNSUPPORTED = {
    ".xlsx": "Excel workbook", ".xls": "Excel workbook", ".xlsm": "Excel workbook",
    ".ods": "OpenDocument spreadsheet", ".json": "JSON file", ".sav": "SPSS file",
    ".sas7bdat": "SAS file", ".dta": "Stata file", ".feather": "Feather file",
    ".h5": "HDF5 file", ".hdf5": "HDF5 file", ".pkl": "pickle", ".pickle": "pickle",
    ".zip": "zip archive", ".gz": "gzip archive", ".bz2": "bzip2 archive", ".xz": "xz archive",
    ".npy": "NumPy array file", ".npz": "NumPy archive",
}  # fmt: skip

# Magic numbers of binary formats that sometimes get a .csv name.
_MAGIC = {
    b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
    b"%PDF": "a PDF document", b"PK\x03\x04": "a zip archive (or an Excel .xlsx workbook)",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office document", b"\x1f\x8b": "a gzip archive",
    b"PAR1": "a Parquet file", b"\x7fELF": "an executable", b"BZh": "a bzip2 archive",
    b"\x93NUMPY": "a NumPy array file", b"\x80\x04": "a Python pickle", b"\x80\x05": "a Python pickle",
    b"SQLite format 3": "an SQLite database",
}  # fmt: skip

_FALLBACK_ERRORS = "metaopt-latin1-fallback"


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode each byte that is not valid UTF-8 as cp1252 (Latin-1 where cp1252 has a hole)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in bad), exc.end


codecs.register_error(_FALLBACK_ERRORS, _latin1_fallback)


@dataclass
class RawTable:
    """A file's contents before column typing, and how it was read."""

    frame: pd.DataFrame
    format: str
    info: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    declared: dict[str, str] = field(default_factory=dict)
    """Column types declared by the file (ARFF): ``numeric``, ``nominal``, ``string``, ``date``."""
    n_rows_total: int | None = None
    """Data rows in the whole file when ``frame`` holds a random sample of them, else None."""


def _check_path(path: Path) -> None:
    if not path.exists():
        parent = path.parent if str(path.parent) not in ("", ".") else Path(".")
        near = ""
        if parent.is_dir():
            import difflib

            names = [p.name for p in parent.iterdir()]
            close = difflib.get_close_matches(path.name, names, n=1)
            if close:
                near = f"; did you mean {str(parent / close[0])!r}?"
        raise DataFormatError(
            f"file {str(path)!r} does not exist{near}",
            "check the path (relative paths start from the current directory)",
        )
    if path.is_dir():
        raise DataFormatError(
            f"{str(path)!r} is a directory, not a data file",
            "pass the path of a CSV, TSV, Parquet or ARFF file inside it",
        )


_RESAVE_UTF8 = (
    "re-save it as UTF-8 (Excel: Save As > 'CSV UTF-8'; a text editor: encoding UTF-8; "
    "or `iconv -f {enc} -t UTF-8 IN > OUT`)"
)


def _wide_encoding(data: bytes) -> str | None:
    """``utf-16-le`` / ``-be`` / ``utf-32-*`` when the bytes look like that (BOM or NUL pattern)."""
    for bom, enc in (
        (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):  # fmt: skip
        if data.startswith(bom):
            return enc
    head = data[:4096]
    head = head[: len(head) // 2 * 2]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    # Text in UTF-16 without a BOM: ASCII characters have a NUL high byte.
    if even.count(0) >= 0.9 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    return None


def _transcode_wide(data: bytes, path: Path, encoding: str) -> tuple[bytes, str]:
    """UTF-8 bytes of a UTF-16/32 file, and the notice that says so."""
    family = encoding[:6].upper()  # UTF-16 / UTF-32
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            f"file {str(path)!r} looks {family}-encoded (a byte-order mark or NUL bytes "
            f"between the characters) but is not valid {family} ({exc.reason} at byte {exc.start})",
            _RESAVE_UTF8.format(enc=family),
        ) from None
    text = text.lstrip("\ufeff")
    notice = (
        f"the file is {family}-encoded ({encoding}) and was decoded as such; to silence "
        f"this notice, {_RESAVE_UTF8.format(enc=family)}"
    )
    return text.encode("utf-8"), notice


def _check_binary(head: bytes, path: Path) -> None:
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise DataFormatError(
                f"file {str(path)!r} is {what}, not a text table (it starts with bytes {magic!r})",
                "export the data as CSV (comma-separated text with a header row) and pass that file",
            )
    if b"\x00" in head[:8192]:
        raise DataFormatError(
            f"file {str(path)!r} contains NUL bytes: it is a binary file, not a text table",
            "export the data as CSV (UTF-8 text, comma-separated, with a header row) and pass "
            "that file",
        )


def _decode(data: bytes) -> tuple[str, str, str | None]:
    """Decode file bytes: returns (text, encoding name, notice or None)."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig", None
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError:
        pass
    body = data[3:] if data.startswith(codecs.BOM_UTF8) else data
    strict_utf8_chars = re.findall(rb"[\xc2-\xf4][\x80-\xbf]+", body[:4_000_000])
    valid_multibyte = 0
    for seq in strict_utf8_chars:
        try:
            seq.decode("utf-8")
            valid_multibyte += 1
        except UnicodeDecodeError:
            continue
    if valid_multibyte:
        text = body.decode("utf-8", errors=_FALLBACK_ERRORS)
        n_bad = sum(1 for _ in re.finditer(rb"[\x80-\xff]", body)) - _count_utf8_continuations(body)
        return (
            text,
            "utf-8 with latin-1 fallback",
            "the file is mostly UTF-8 but has "
            f"{max(n_bad, 1)} byte(s) that are not; they were read as Latin-1/cp1252 "
            "(re-save the file as UTF-8 to silence this notice)",
        )
    try:
        return data.decode("cp1252"), "cp1252", None
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1", None


def _count_utf8_continuations(body: bytes) -> int:
    """Number of bytes that belong to valid multi-byte UTF-8 sequences."""
    total = 0
    for m in re.finditer(rb"[\xc2-\xf4][\x80-\xbf]+", body):
        seq = m.group(0)
        for end in range(len(seq), 1, -1):
            try:
                seq[:end].decode("utf-8")
                total += end
                break
            except UnicodeDecodeError:
                continue
    return total


def _records(sample: str, delimiter: str) -> list[list[str]]:
    """Complete records of a text sample (the possibly cut last one removed)."""
    rows = list(csv.reader(io.StringIO(sample), delimiter=delimiter, quotechar='"'))
    rows = [r for r in rows if r and any(f.strip() for f in r)]
    return rows[:-1] if len(rows) > 2 else rows


def _sniff_delimiter(sample: str, suffix: str) -> str:
    """The delimiter whose field count is most consistent and largest across records."""
    best: tuple[float, int, str] | None = None
    for delim in _DELIMITERS:
        try:
            rows = _records(sample, delim)
        except csv.Error:
            continue
        if not rows:
            continue
        counts = [len(r) for r in rows]
        width = max(set(counts), key=counts.count)
        if width < 2:
            continue
        consistency = counts.count(width) / len(counts)
        # The header must have the width too (otherwise it is not this delimiter).
        score = (consistency + (0.5 if counts[0] == width else 0.0), width, delim)
        if best is None or score[:2] > best[:2]:
            best = score
    if best is not None and best[0] >= 1.2:
        if suffix == ".tsv" and best[2] != "\t" and _width(sample, "\t") >= 2:
            return "\t"
        return best[2]
    lines = [ln for ln in sample.splitlines() if ln.strip()][:50]
    if len(lines) >= 1 and all(len(ln.split()) >= 2 for ln in lines):
        widths = {len(ln.split()) for ln in lines}
        if len(widths) == 1 or suffix in (".dat", ".txt", ".data"):
            return r"\s+"
    if best is not None:
        return best[2]
    return ","


def _width(sample: str, delim: str) -> int:
    rows = _records(sample, delim)
    return len(rows[0]) if rows else 0


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


# A number written with a decimal comma: 1,5  -3,25  1.234,5 (thousands dots)  ,5  1,5e-3
_DECIMAL_COMMA = re.compile(r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*),\d+(?:[eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)$")


def _decimal_commas(frame: pd.DataFrame) -> list[str]:
    """Convert, in place, the text columns that hold numbers with decimal commas.

    A column converts when every non-missing value is such a number or an integer
    (``1.234`` counts as an integer with a thousands dot only in a column that also has
    ``1.234,5``-style values), and at least one value has a decimal comma. Returns the
    names of the converted columns.
    """
    converted = []
    for name in frame.columns:
        col = frame[name]
        if not (col.dtype == object or pd.api.types.is_string_dtype(col.dtype)):
            continue
        values = col.dropna()
        if values.empty or not all(isinstance(v, str) for v in values):
            continue
        text = values.str.strip()
        comma = text.str.match(_DECIMAL_COMMA)
        if not comma.any():
            continue
        plain = text.str.fullmatch(r"[+-]?\d+")
        thousands = text.str.match(_INTEGER) & ~plain
        if not (comma | plain | (thousands & comma.any())).all():
            continue
        numbers = pd.to_numeric(
            col.str.strip().str.replace(".", "", regex=False).str.replace(",", ".", regex=False),
            errors="coerce",
        )
        if int(numbers.notna().sum()) != len(values):  # pragma: no cover - the regexes agree
            continue
        frame[name] = numbers.astype("float64")
        converted.append(str(name))
    return converted


def _read_text(path: Path, data: bytes, suffix: str) -> RawTable:
    if data.isascii():
        # pandas parses the bytes; the sniffers need only the head (a large file is not
        # decoded, and copied, whole).
        text, encoding, notice = data[: 1 << 20].decode("ascii"), "utf-8", None
    else:
        text, encoding, notice = _decode(data)
    notices = [notice] if notice else []
    if text.startswith("\ufeff"):
        text = text[1:]
    if (not data or data.isspace()) if data.isascii() else (not text or text.isspace()):
        raise DataFormatError(
            f"file {str(path)!r} contains only whitespace",
            "pass a file with a header row and at least two data rows",
        )
    sample = text[:65536]
    delimiter = _sniff_delimiter(sample, suffix)
    if delimiter == r"\s+":
        first = text.lstrip().splitlines()[0].split()
    else:
        first = next(iter(_records(sample + "\n", delimiter)), [])
    header = [h.strip() for h in first]
    has_header = not all(_is_number(h) for h in header if h) or not header
    if has_header:
        seen: dict[str, int] = {}
        for h in header:
            seen[h] = seen.get(h, 0) + 1
        dups = [h for h, n in seen.items() if n > 1]
        if dups:
            shown = ", ".join(f"{d!r} ({seen[d]} times)" for d in dups[:5])
            raise ColumnError(
                f"column names must be unique, but the header of {str(path)!r} repeats {shown}",
                "rename the repeated columns in the file's header row",
            )
    kwargs: dict[str, Any] = dict(
        sep=delimiter,
        header=0 if has_header else None,
        na_values=sorted(MISSING_TOKENS),
        keep_default_na=True,
        skipinitialspace=True,
        low_memory=False,
        engine="c",
    )
    if not has_header:
        kwargs["names"] = [f"V{i + 1}" for i in range(len(header))]
        notices.append(
            f"the first row holds only numbers, so it was read as data; columns are named "
            f"V1..V{len(header)}"
        )
    try:
        if encoding in ("utf-8", "utf-8-sig", "cp1252", "latin-1"):
            frame = pd.read_csv(io.BytesIO(data), encoding=encoding, **kwargs)
        else:
            frame = pd.read_csv(io.StringIO(text), **kwargs)
    except pd.errors.EmptyDataError as exc:
        raise DataFormatError(
            f"file {str(path)!r} has no columns", "pass a file with a header row and data rows"
        ) from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataFormatError(
            f"file {str(path)!r} is not a well-formed delimited table "
            f"({_DELIMITER_NAMES.get(delimiter, delimiter)}-separated): "
            f"{str(exc).strip().splitlines()[-1]}",
            "check that every row has as many fields as the header and that quotes are closed",
        ) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    if delimiter != ",":
        converted = _decimal_commas(frame)
        if converted:
            shown = ", ".join(repr(c) for c in converted[:5])
            more = f" and {len(converted) - 5} more" if len(converted) > 5 else ""
            notices.append(
                f"column(s) {shown}{more} write numbers with a decimal comma (e.g. 1,5); "
                "they were read as numbers"
            )
    info = {
        "encoding": encoding,
        "delimiter": _DELIMITER_NAMES.get(delimiter, delimiter),
        "header": has_header,
    }
    return RawTable(
        frame=frame, format="csv" if suffix != ".tsv" else "tsv", info=info, notices=notices
    )


# -- ARFF ---------------------------------------------------------------------------

_ATTR = re.compile(
    r"""^@attribute\s+(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(\S+))\s+(.*)$""",
    re.IGNORECASE,
)
_FIELD = re.compile(r"""\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([^,]*?))\s*(?:,|$)""")


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def _split_fields(line: str) -> list[str | None]:
    """Split one ARFF data line; quoted values lose their quotes, ``?`` becomes None."""
    out: list[str | None] = []
    pos = 0
    n = len(line)
    while pos <= n:
        m = _FIELD.match(line, pos)
        if m is None or m.end() == pos and pos == n:
            break
        if m.group(1) is not None or m.group(2) is not None:
            value: str | None = _unescape(m.group(1) if m.group(1) is not None else m.group(2))
        else:
            raw = m.group(3)
            value = None if raw == "?" else raw
        out.append(value)
        if m.end() == pos:
            break
        pos = m.end()
        if pos == n and not line.rstrip().endswith(","):
            break
    return out


def _parse_nominal(spec: str) -> list[str]:
    inner = spec.strip()[1:]
    inner = inner[: inner.rfind("}")] if "}" in inner else inner
    return [v for v in (f for f in _split_fields(inner)) if v is not None]


def _read_arff(path: Path, data: bytes) -> RawTable:
    text, encoding, notice = _decode(data)
    notices = [notice] if notice else []
    lines = text.splitlines()
    header = _arff_header(path, lines)
    names, declared = header.names, header.declared
    body = [ln for ln in lines[header.data_start:] if ln.strip() and not ln.lstrip().startswith("%")]
    rows = _arff_rows(path, body, header)
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    for name in names:
        if declared[name] == "numeric":
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
    info = {"encoding": encoding, "relation": header.relation}
    return RawTable(frame=frame, format="arff", info=info, notices=notices, declared=declared)


@dataclass
class _ArffHeader:
    """What an ARFF header declares, and the index of the first line after ``@data``."""

    relation: str | None
    names: list[str]
    declared: dict[str, str]
    nominal: dict[str, list[str]]
    data_start: int


def _arff_header(path: Path, lines: list[str]) -> _ArffHeader:
    """Parse the header lines up to ``@data``; check that it declares unique attributes."""
    names: list[str] = []
    declared: dict[str, str] = {}
    nominal: dict[str, list[str]] = {}
    relation = None
    data_start = None
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        low = line.lower()
        if low.startswith("@relation"):
            relation = line[len("@relation") :].strip().strip("'\"")
        elif low.startswith("@attribute"):
            name, kind, labels = _arff_attribute(path, i, line)
            declared[name] = kind
            if labels is not None:
                nominal[name] = labels
            names.append(name)
        elif low.startswith("@data"):
            data_start = i + 1
            break
        elif low.startswith("@end"):
            continue
        else:
            raise DataFormatError(
                f"ARFF file {str(path)!r}, line {i + 1}: unexpected header line {line[:60]!r}",
                "the header holds only % comments, @relation, @attribute and @data lines",
            )
    if data_start is None or not names:
        raise DataFormatError(
            f"file {str(path)!r} is not a valid ARFF file: "
            + ("no @attribute lines" if not names else "no @data section"),
            "check the file, or export it as CSV",
        )
    dups = sorted(n for n, k in Counter(names).items() if k > 1)
    if dups:
        raise ColumnError(
            f"column names must be unique, but ARFF file {str(path)!r} declares "
            f"{', '.join(repr(d) for d in dups[:5])} more than once",
            "rename the repeated @attribute lines",
        )
    return _ArffHeader(relation, names, declared, nominal, data_start)


def _arff_attribute(path: Path, i: int, line: str) -> tuple[str, str, list[str] | None]:
    """``(name, declared type, nominal labels or None)`` of the ``@attribute`` line ``i``."""
    m = _ATTR.match(line)
    if m is None:
        raise DataFormatError(
            f"ARFF file {str(path)!r}, line {i + 1}: cannot parse attribute {line!r}",
            "write attributes as `@attribute name type` (quote names with spaces)",
        )
    name = _unescape(next(g for g in m.groups()[:3] if g is not None))
    spec = m.group(4).strip()
    low_spec = spec.lower()
    if spec.startswith("{"):
        return name, "nominal", _parse_nominal(spec)
    if low_spec.startswith(("real", "integer", "numeric")):
        return name, "numeric", None
    if low_spec.startswith("string"):
        return name, "string", None
    if low_spec.startswith("date"):
        return name, "date", None
    if low_spec.startswith("relational"):
        raise DataFormatError(
            f"ARFF file {str(path)!r} uses a relational attribute ({name!r}), "
            "which metaopt does not read",
            "flatten the relational attribute into ordinary columns",
        )
    raise DataFormatError(
        f"ARFF file {str(path)!r}, line {i + 1}: unknown type {spec!r} of "
        f"attribute {name!r}",
        "use numeric, real, integer, string, date or a nominal list {a,b,...}",
    )


def _arff_rows(path: Path, body: list[str], header: _ArffHeader) -> list[list[str | None]]:
    """The data lines as rows of strings (None where missing), sparse rows filled in."""
    names, declared, nominal = header.names, header.declared, header.nominal
    n_cols = len(names)
    rows: list[list[str | None]] = []
    # Values a sparse row leaves out are 0: the number 0, or a nominal's first label.
    sparse_default = [
        nominal[n][0] if declared[n] == "nominal" and nominal[n] else "0" for n in names
    ]
    for j, line in enumerate(body):
        s = line.strip()
        if s.startswith("{"):
            rows.append(_sparse_row(path, j, s, sparse_default))
        else:
            fields = _split_fields(s)
            if s.endswith(",") is False and len(fields) > n_cols and fields[-1] in ("", None):
                fields = fields[:n_cols]
            if len(fields) != n_cols:
                raise DataFormatError(
                    f"ARFF file {str(path)!r}: data row {j + 1} has {len(fields)} values "
                    f"but {n_cols} attributes are declared",
                    "fix that row, or check the @attribute lines",
                )
            rows.append(fields)
    return rows


def _sparse_row(path: Path, j: int, s: str, sparse_default: list[str]) -> list[str | None]:
    """Sparse data row ``j`` (``{index value, ...}``) over the default values."""
    n_cols = len(sparse_default)
    row: list[str | None] = list(sparse_default)
    for f in _split_fields(s[1 : s.rfind("}")]):
        if f is None or not f.strip():
            continue
        idx, _, value = f.strip().partition(" ")
        try:
            k = int(idx)
            if not 0 <= k < n_cols:
                raise ValueError(k)
        except ValueError:
            raise DataFormatError(
                f"ARFF file {str(path)!r}: sparse row {j + 1} has entry {f!r}",
                "write sparse entries as `{index value, ...}`",
            ) from None
        value = value.strip()
        if value.startswith(("'", '"')):
            value = _unescape(value[1:-1])
        elif value == "?":
            row[k] = None
            continue
        row[k] = value
    return row


# -- sampling a large text file -----------------------------------------------------

_CHUNK = 1 << 23


@dataclass
class _LineSample:
    """The header line and a random sample of a text file's lines, and what they came from."""

    data: bytes
    digest: str
    n_lines: int
    """Non-empty lines in the whole file (the header included)."""
    n_sampled: int


def _sample_lines(path: Path, sample_rows: int, random_state: int) -> _LineSample | None:
    """The first non-empty line and ``sample_rows`` random other lines of a plain text
    file, in file order, read in two streaming passes (hash, line count and checks; then
    the sampled lines) so the file is never held in memory; or None when the file is
    better read whole: it has at most ``sample_rows`` lines, or anything a line split
    could get wrong or the sniffers must see in full (quotes, which may hold line breaks;
    bytes outside ASCII, which decide the encoding; NUL bytes; lone carriage returns;
    an ARFF header).
    """
    if path.stat().st_size < 4 * sample_rows:  # each row holds at least "a,b\n"
        return None
    sha = hashlib.sha256()
    n_newlines = 0
    with path.open("rb") as f:
        first = True
        while chunk := f.read(_CHUNK):
            if chunk.endswith(b"\r"):  # keep a CRLF in one chunk
                chunk += f.read(1)
            if first and chunk.lstrip().lower().startswith((b"@relation", b"%")):
                return None
            first = False
            if (
                not chunk.isascii() or b'"' in chunk or b"\x00" in chunk
                or (b"\r" in chunk and chunk.count(b"\r") != chunk.count(b"\r\n"))
            ):
                return None
            sha.update(chunk)
            n_newlines += chunk.count(b"\n")
    if n_newlines <= sample_rows + 1:
        return None
    rng = np.random.default_rng(random_state)
    # Line positions 1..n_newlines (the last line may lack its newline).
    keep = set((rng.choice(n_newlines, size=sample_rows, replace=False) + 1).tolist())
    out: list[bytes] = []
    n_lines = 0
    with path.open("rb") as f:
        for i, line in enumerate(f):
            if len(line) <= 2 and line in (b"\n", b"\r\n"):  # pandas skips empty lines
                continue
            n_lines += 1
            if n_lines == 1 or i in keep:
                out.append(line if line.endswith(b"\n") else line + b"\n")
    return _LineSample(b"".join(out), sha.hexdigest(), n_lines, len(out) - 1)


# -- entry point --------------------------------------------------------------------


def read_table(
    path: str | Path, *, sample_rows: int | None = None, random_state: int = 0
) -> tuple[RawTable, str]:
    """Read a file into a :class:`RawTable`.

    Parameters
    ----------
    path
        A CSV/TSV/``.txt``/``.dat`` file (delimiter and encoding sniffed), a Parquet
        file or an ARFF file.
    sample_rows
        Read only a random sample of this many data rows of a delimited text file that
        has more, streaming it rather than holding it in memory; the table then says
        how many rows the file has (``n_rows_total``) and a notice says it was sampled.
        A file the line sampler cannot split safely (quoted fields, non-ASCII bytes, see
        :func:`_sample_lines`) and every other format are read whole. ``None`` (the
        default) reads every row.
    random_state
        Seed of the row sample.

    Returns
    -------
    table, sha256
        The raw table and the SHA-256 hex digest of the file's bytes.

    Raises
    ------
    DataFormatError
        Missing file, directory, empty or binary file, unsupported format, malformed
        content.
    ColumnError
        Duplicate column names.
    """
    path = Path(path).expanduser()
    _check_path(path)
    suffix = path.suffix.lower()
    if suffix in _UNSUPPORTED:
        raise DataFormatError(
            f"file {str(path)!r} is a {_UNSUPPORTED[suffix]} ({suffix}), which metaopt does not read",
            "export the data as CSV (or Parquet) and pass that file",
        )
    sample = None
    if sample_rows is not None and suffix in TEXT_SUFFIXES:
        sample = _sample_lines(path, int(sample_rows), random_state)
    if sample is not None:
        table = _read_text(path, sample.data, suffix)
        table.n_rows_total = sample.n_lines - (1 if table.info.get("header", True) else 0)
        table.notices.append(
            f"the file has {table.n_rows_total:,} data rows; read a random sample of "
            f"{table.frame.shape[0]:,} of them (random_state={random_state}) - every count "
            "(rows, size-dependent bounds, fit times) is for the whole file, the other "
            "meta-features are computed on the sample; commands that train read every row"
        )
        return table, sample.digest
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if not data or data.isspace():
        raise DataFormatError(
            f"file {str(path)!r} is empty", "pass a file with a header row and data rows"
        )
    if suffix in _PARQUET_SUFFIXES:
        if not data.startswith(b"PAR1"):
            raise DataFormatError(
                f"file {str(path)!r} has a Parquet name but is not a Parquet file",
                "check the file, or rename it to its real format",
            )
        try:
            frame = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises many types
            raise DataFormatError(
                f"Parquet file {str(path)!r} cannot be read: {exc}", "check the file"
            ) from exc
        frame.columns = [str(c) for c in frame.columns]
        dups = sorted(c for c, k in Counter(frame.columns).items() if k > 1)
        if dups:
            raise ColumnError(
                f"column names must be unique, but {str(path)!r} repeats {dups[:5]}",
                "rename the repeated columns",
            )
        return RawTable(frame=frame, format="parquet"), digest
    wide = _wide_encoding(data)
    wide_notice = None
    if wide is not None:
        data, wide_notice = _transcode_wide(data, path, wide)
    _check_binary(data[:65536], path)
    if suffix in _ARFF_SUFFIXES:
        table = _read_arff(path, data)
    elif suffix not in TEXT_SUFFIXES and (
        data[:4096].lstrip().lower().startswith((b"@relation", b"%"))
        and b"@attribute" in data[:65536].lower()
    ):
        table = _read_arff(path, data)
    else:
        table = _read_text(path, data, suffix)
    if wide is not None and wide_notice is not None:
        table.info["encoding"] = wide
        table.notices.insert(0, wide_notice)
    return table, digest
