"""What counts as a clear error: verdicts on a prompt's outcome (validation 400 or execution error)."""

from __future__ import annotations

import re

from rel_prompts import TARGET
from rel_server import Outcome

BAD_PROMPT_LIMIT_S = 30.0
"""A bad prompt on tiny sizes that runs longer than this is itself a defect (it is interrupted and reported)."""

BARE_EXCEPTION_TYPES = frozenset({"TypeError", "KeyError", "IndexError", "AttributeError", "NameError",
                                  "UnboundLocalError", "ZeroDivisionError", "AssertionError"})
"""Exception types whose message is Python's own, not the pack's (``builtins.`` prefix optional)."""

BARE_MESSAGE = re.compile(
    r"object has no attribute|unsupported operand|is not subscriptable|object is not iterable|"
    r"index out of range|is out of bounds for|takes \d+ positional|missing \d+ required positional|"
    r"unexpected keyword argument|'NoneType'|not supported between instances|argument must be (a )?str|"
    r"cannot unpack|too many values to unpack|not enough values to unpack|^'[^' ]*'$")
"""Python's own wording for programming errors (a message like this explains nothing to the user)."""


def outcome_text(outcome: Outcome) -> str:
    """All the error text the user sees for a prompt (validation node errors or the execution error)."""
    if outcome.rejected:
        body = outcome.answer.body if isinstance(outcome.answer.body, dict) else {"error": outcome.answer.body}
        parts = [str(body.get("error", ""))]
        for node_errors in (body.get("node_errors") or {}).values():
            parts += [f"{e.get('message', '')}: {e.get('details', '')}" for e in node_errors.get("errors", [])]
        return "\n".join(parts)
    error = outcome.execution_error()
    return "" if error is None else f"{error.get('exception_type')}: {error.get('exception_message')}"


def unclear(outcome: Outcome, *, mentions: tuple[str, ...] = (), target: str = TARGET) -> str | None:
    """Why ``outcome`` is not a clear error (None when it is one).

    Clear: a validation error naming the target node (HTTP 400 + node_errors), or an execution error of a
    non-bare exception type whose message is not Python's own wording; ``mentions``: strings of which at least
    one must appear in the error text (e.g. the input name or the bad value)."""
    text = outcome_text(outcome)
    if outcome.overran_s is not None:
        return f"still running after {outcome.overran_s:.0f} s on tiny sizes (interrupted)"
    if outcome.rejected:
        node_errors = (outcome.answer.body or {}).get("node_errors") or {}
        if target not in node_errors:
            return f"400 without node_errors for node {target}: {text}"
    elif outcome.status == "success":
        return "accepted: the prompt ran to success"
    elif outcome.interrupted() or outcome.execution_error() is None:
        return f"ended without an execution error: {outcome.messages()}"
    else:
        kind = str(outcome.execution_error().get("exception_type", "")).rsplit(".", 1)[-1]
        if kind in BARE_EXCEPTION_TYPES:
            return f"bare Python {text}"
    if BARE_MESSAGE.search(text):
        return f"Python's own wording: {text}"
    if mentions and not any(m.lower() in text.lower() for m in mentions):
        return f"does not mention any of {mentions}: {text}"
    return None


def compare_with_known(problems: dict[str, str], known: dict[str, str], labels: set[str]) -> str:
    """'' when ``problems`` (case label -> what went wrong) are exactly the known defects, else a report.

    ``known`` maps a regular expression over case labels to the defect note. A problem no pattern matches is NEW; a
    pattern that matches some of this run's ``labels`` but none of its problems is FIXED (drop it from the list)."""
    patterns = {pattern: re.compile(pattern) for pattern in known}
    new = {k: v for k, v in problems.items() if not any(p.fullmatch(k) for p in patterns.values())}
    fixed = sorted(pattern for pattern, p in patterns.items()
                   if any(p.fullmatch(label) for label in labels) and not any(p.fullmatch(k) for k in problems))
    lines = [f"NEW {label}: {problem}" for label, problem in new.items()]
    lines += [f"FIXED (remove from the known-defect list) {pattern}" for pattern in fixed]
    return "\n".join(lines)
