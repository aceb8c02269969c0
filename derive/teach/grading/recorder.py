"""Record a function's variables line by line: the value each executed statement assigned (capped).

Standard library only: the grading child receives this module as code (as it does ``landlock``
and ``seccomp``) and runs the learner's ``backward`` under it; ``derive.exercises.check`` and the
grader's reference runs (derive's own printed program) use it directly. ``plan`` reads the
function's statements from its source (parsed, never run): which lines belong to which
statement, the names each one assigns, and the loops. ``call_recorded`` calls the function under
``sys.settrace`` (its own frame only: helpers and NumPy are not traced) and returns, besides
the value and the locals at return, the history ``[[line, name, value], ...]``: after each
executed statement, the value of every name it assigned (``dW`` for ``dW += ...`` and for
``dW[:, t] = ...``); a loop header without a target gives ``[line, "", 0.0]``. Caps on entries,
on numbers and on traced lines end the recording early (``truncated``), never the run: past
them the frame is no longer traced line by line, so a long loop costs no more than the cap.
"""
import sys
import threading

MAX_ENTRIES = 5_000
MAX_NUMBERS = 100_000
MAX_EVENTS = 1_000_000  # executed lines traced per call, recorded or not
MAX_LOCALS = 200
NO_PLAN = {"lines": {}, "targets": {}, "loops": []}


_PARSING = threading.Lock()


def parse(source):
    """``ast.parse(source)`` under one lock: CPython 3.11's AST constructor keeps its recursion
    count in shared state, so two threads parsing at once (a batch's workers) can fail with
    "SystemError: AST constructor recursion depth mismatch"."""
    import ast

    with _PARSING:
        return ast.parse(source)


def _names(target, out):
    """The variables an assignment target binds or changes: ``a``, ``a, b``, ``a[i]``, ``a.x``."""
    import ast  # here, as in ``plan``: the grading child needs it only for a loop exercise
    while isinstance(target, (ast.Subscript, ast.Attribute, ast.Starred)):
        target = target.value
    if isinstance(target, ast.Name):
        out.append(target.id)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            _names(elt, out)


def plan(source, function):
    """{"lines": {line: statement's first line}, "targets": {first line: [names]},
    "loops": [[header line, last body line, [loop variables]]]} of the last ``def function``
    in ``source`` (``function=None``: the last ``def`` of all); None if there is none or the
    source does not parse."""
    import ast

    try:
        tree = parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    fns = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
           and (function is None or n.name == function)]
    if not fns:
        return None
    lines, targets, loops = {}, {}, []
    for node in ast.walk(fns[-1]):
        if not isinstance(node, ast.stmt) or node is fns[-1]:
            continue
        names = []
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            head_end = (node.iter if isinstance(node, (ast.For, ast.AsyncFor)) else node.test).end_lineno
            if isinstance(node, (ast.For, ast.AsyncFor)):
                _names(node.target, names)
            names = names or [""]
            loops.append([node.lineno, max(getattr(n, "end_lineno", node.lineno) for n in ast.walk(node)
                                           if isinstance(n, ast.stmt)), [n for n in names if n]])
        elif isinstance(node, (ast.If, ast.With, ast.AsyncWith, ast.Try, ast.FunctionDef,
                               ast.AsyncFunctionDef, ast.ClassDef)) or hasattr(ast, "Match") and \
                isinstance(node, getattr(ast, "Match")):
            head_end = node.lineno
        else:
            head_end = node.end_lineno
            for t in (node.targets if isinstance(node, ast.Assign) else
                      [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []):
                _names(t, names)
        for line in range(node.lineno, head_end + 1):
            lines.setdefault(line, node.lineno)
        if names:
            targets[node.lineno] = list(dict.fromkeys(names))
    loops.sort()
    return {"lines": lines, "targets": targets, "loops": loops}


def call_recorded(fn, args, the_plan, plain, entries=MAX_ENTRIES, numbers=MAX_NUMBERS):
    """Call ``fn(*args)`` recording its statements; (value, {name: local at return}, history)
    with history ``{"entries": [[line, name, plain value], ...], "truncated": bool}``.

    ``plain`` turns a value into JSON data (numbers and arrays are kept; other values are not
    recorded). Only the first frame running ``fn``'s code is traced.
    """
    code, lines, targets = fn.__code__, the_plan["lines"], the_plan["targets"]
    history, seen = [], {}
    state = {"frame": None, "pending": None, "left": numbers, "full": False, "events": 0}

    def flush(frame):
        stmt = state["pending"]
        state["pending"] = None
        if stmt is None or stmt not in targets or state["full"]:
            return
        local = frame.f_locals
        for name in targets[stmt]:
            if name == "":
                history.append([stmt, "", 0.0])
                continue
            if name not in local:
                continue
            v = local[name]
            if isinstance(v, (list, tuple, dict, str)):
                continue  # tapes and other containers: not a value to compare
            budget = [state["left"]]
            try:
                data = plain(v, 0, budget)
            except Exception:  # a value that cannot be read (an odd object): stop recording, not the run
                data, state["full"] = {"type": "unreadable"}, True
            if isinstance(data, dict) and "type" in data:
                continue
            state["left"] = budget[0]
            history.append([stmt, name, data])
        if len(history) >= entries or state["left"] <= 0:
            state["full"] = True
            frame.f_trace_lines = False  # the rest of the run is not traced line by line

    def local_trace(frame, event, arg):
        if frame is not state["frame"]:
            return None
        if event == "line":
            state["events"] += 1
            if state["events"] > MAX_EVENTS:
                state["full"] = True
                frame.f_trace_lines = False
            stmt = lines.get(frame.f_lineno)
            if stmt is not None and stmt == state["pending"]:
                return local_trace  # a further line of the same statement
            flush(frame)
            state["pending"] = stmt
        elif event == "return":
            flush(frame)
            seen.clear()
            seen.update(frame.f_locals)
        return local_trace

    def global_trace(frame, event, arg):
        if event == "call" and frame.f_code is code and state["frame"] is None:
            state["frame"] = frame
            frame.f_trace_lines = bool(targets)  # nothing to record: only the return is needed
            return local_trace
        return None

    old = sys.gettrace()
    sys.settrace(global_trace)
    try:
        value = fn(*args)
    finally:
        sys.settrace(old)
    names = [k for k in seen if not k.startswith("_")][:MAX_LOCALS]
    return value, {k: seen[k] for k in names}, {"entries": history, "truncated": state["full"]}


def call_with_locals(fn, args):
    """Call ``fn(*args)``; return (value, {name: local value at its return})."""
    value, local, _ = call_recorded(fn, args, NO_PLAN, None)
    return value, local
