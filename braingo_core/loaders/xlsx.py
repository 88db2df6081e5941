"""Read labelled count matrices out of .xlsx sheets, with errors naming file, sheet and cell."""
import math
import zipfile
import zlib

import numpy as np
import openpyxl
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.utils import get_column_letter

from braingo_core.errors import LoaderError

#: What a damaged .xlsx (zip members, XML, cell values) raises while its rows are read.
_READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error, SyntaxError, KeyError, ValueError, TypeError,
                IndexError, AttributeError, OverflowError, RecursionError, UnicodeDecodeError)
#: Largest count a matrix cell may hold.
MAX_COUNT = 10 ** 9


def read_sheet_rows(path, sheet):
    """All rows of ``sheet`` in ``path`` as tuples of values, trailing empty rows dropped.

    Raises
    ------
    LoaderError
        The file cannot be opened or has no sheet called ``sheet`` (the message lists the sheets).
    """
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, *_READ_ERRORS) as exc:
        raise LoaderError(f"{path}: cannot open workbook ({exc})") from None
    try:
        if sheet not in wb.sheetnames:
            raise LoaderError(f"{path}: no sheet '{sheet}' (sheets: {wb.sheetnames})")
        rows = [tuple(r) for r in wb[sheet].iter_rows(values_only=True)]
    except _READ_ERRORS as exc:         # a corrupt sheet fails while it is read, not when the file opens
        raise LoaderError(f"{path}, sheet {sheet}: corrupt workbook ({type(exc).__name__}: {str(exc)[:200]})") from None
    finally:
        wb.close()
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    return rows


def _cell(row, col):
    return f"{get_column_letter(col + 1)}{row + 1}"


def read_label_matrix(path, sheet, names):
    """A square count matrix (row 1 = column labels, column A = row labels, blank = 0) in ``names`` order.

    Parameters
    ----------
    path : str or Path
        The workbook.
    sheet : str
        Sheet name.
    names : list of str
        Expected labels; the sheet may order them differently but must hold exactly these, with
        the same order on both axes.

    Returns
    -------
    int64[len(names), len(names)]
        ``m[i, j]`` = value at row label ``names[i]``, column label ``names[j]``.

    Raises
    ------
    LoaderError
        Missing sheet, non-square or mislabelled matrix, labels absent from ``names`` (or the
        reverse), negative, fractional or non-numeric values; the message names the cell.
    """
    where = f"{path}, sheet {sheet}"
    rows = read_sheet_rows(path, sheet)
    if not rows:
        raise LoaderError(f"{where}: sheet is empty")
    header = list(rows[0][1:])
    while header and header[-1] is None:
        header.pop()
    row_labels = [r[0] if r else None for r in rows[1:]]
    if len(row_labels) != len(header):
        raise LoaderError(f"{where}: matrix is {len(row_labels)} x {len(header)} labels, not square")
    for k, (r, c) in enumerate(zip(row_labels, header)):
        if r != c:
            raise LoaderError(f"{where}: row label {_cell(k + 1, 0)} {r!r} differs from column label "
                              f"{_cell(0, k + 1)} {c!r}")
    expected = set(names)
    extra = [x for x in header if x not in expected]
    if extra:
        raise LoaderError(f"{where}: label(s) {extra[:10]} are not neurons of config cells_name_dic")
    absent = [n for n in names if n not in set(header)]
    if absent or len(set(header)) != len(header):
        raise LoaderError(f"{where}: neuron(s) {absent[:10]} missing (or labels duplicated) in the sheet")
    n = len(header)
    m = np.zeros((n, n), np.int64)
    for i, row in enumerate(rows[1:n + 1], start=1):
        for j in range(1, min(len(row), n + 1)):
            v = row[j]
            if v is None:
                continue
            if (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
                    or not 0 <= v <= MAX_COUNT or v != int(v)):
                raise LoaderError(f"{where}, cell {_cell(i, j)} ({row_labels[i - 1]} -> {header[j - 1]}): "
                                  f"{v!r} is not a count in [0, {MAX_COUNT}]")
            m[i - 1, j - 1] = int(v)
        if len(row) > n + 1 and any(v is not None for v in row[n + 1:]):
            j = n + 1 + next(k for k, v in enumerate(row[n + 1:]) if v is not None)
            raise LoaderError(f"{where}, cell {_cell(i, j)}: value outside the labelled matrix")
    order = [header.index(x) for x in names]
    return m[np.ix_(order, order)]
