"""Connectivity queries on a memory-mapped .braindb: BFS up/downstream, shortest paths, pathway
summaries and adjacency matrices between groups, degree statistics, and text-table output."""
from braingo_core.query.graph import degree_stats, downstream, shortest_paths, upstream
from braingo_core.query.groups import adjacency, pathway, select

__all__ = ["adjacency", "degree_stats", "downstream", "format_table", "pathway", "select", "shortest_paths",
           "upstream"]


def format_table(rows, columns):
    """Plain-text table of ``rows`` (dicts) with the given ``columns``, left-aligned, header underlined."""
    cells = [[str(c) for c in columns]] + [[_fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(row[k]) for row in cells) for k in range(len(columns))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else str(v)
