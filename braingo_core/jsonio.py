"""JSON as the project's readers take it: syntax, encoding and nesting errors become one line naming the file."""
import json


def json_depth(doc, limit):
    """Nesting depth of the JSON containers in ``doc`` (0 for a scalar, 1 for a flat list or object).

    Counted up to ``limit + 1``: a deeper document returns that at once, without walking the rest of it.
    """
    deepest, stack = 0, [(doc, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (list, dict)):
            deepest = max(deepest, d)
            if d > limit:
                return deepest
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def parse_json(source, where, error, max_depth):
    """``json.load`` of a text file object or ``json.loads`` of a str; ``error(message)`` for bad input.

    Parameters
    ----------
    source : str or text file
    where : str or path
        Named at the start of every message.
    error : type
        Exception class raised (a :class:`~braingo_core.errors.BrainGoError`).
    max_depth : int
        Deepest nesting accepted.
    """
    try:
        doc = json.loads(source) if isinstance(source, str) else json.load(source)
    except json.JSONDecodeError as exc:
        raise error(f"{where}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise error(f"{where}: JSON nested too deeply") from None
    if json_depth(doc, max_depth) > max_depth:
        raise error(f"{where}: JSON nested deeper than {max_depth} levels")
    return doc
