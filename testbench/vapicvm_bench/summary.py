# SPDX-License-Identifier: GPL-2.0
"""The bench's summary: every failure's explanation again, then the counts.

A CI page often shows only a log's tail, so each failed suite's "not ok"
and assertion lines are repeated next to the closing line
"N passed, N failed, N skipped".
"""


def totals(results):
    """(passed, failed, skipped) over all results."""
    return (sum(r.passed for r in results), sum(r.failed for r in results),
            sum(r.skipped for r in results))


def summary_lines(results):
    """The summary's text lines, the closing count line last."""
    lines = [""]
    for result in results:
        if result.failed:
            lines.append(f"# --- {result.suite}: failed checks")
            lines += result.details
    failed = [result.suite for result in results if result.failed]
    if failed:
        lines.append("# failed: " + " ".join(failed))
    passed, failures, skipped = totals(results)
    lines.append(f"{passed} passed, {failures} failed, {skipped} skipped")
    return lines


def exit_status(results):
    """Non-zero if anything failed."""
    return 1 if totals(results)[1] else 0


def results_text(results):
    """results.txt: one "<suite> <passed> <failed> <skipped>" line each."""
    return "".join(result.row() + "\n" for result in results)
