"""Results an instructor reads: the class report (one HTML file) and one feedback page per student.

``class_report(grades)`` gives a self-contained HTML page: a score histogram, misconception
counts each with an anonymised example, the line most often wrong, and pass rates per test
(matplotlib figures embedded as PNG data). ``student_pages(grades, folder)`` writes one page per
submission: the feedback text, the point's values and a table of the learner's lines against the
expected ones. Everything a learner wrote is HTML-escaped.
"""
from __future__ import annotations

import base64
import collections
import html
import io
import os
import re

from derive.core.errors import DeriveError
from derive.teach.feedback import grade_text
from derive.teach.misconceptions import LABELS

STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}"
         "pre{background:#f6f6f6;padding:.6em;white-space:pre-wrap}.bad{color:#b00}.ok{color:#070}")


def _page(title, body) -> str:
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")


def _figure(draw) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.8), dpi=90)
    try:
        draw(ax)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    return f'<img alt="figure" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _anonymise(text, grade) -> str:
    for secret in (grade.get("submission", ""), grade.get("student", ""), grade.get("name", "")):
        if secret:
            text = text.replace(secret, "<student>")
    return re.sub(r"\S+@\S+", "<email>", text)


def _wrong_line(g):
    m = re.search(r"first wrong line: (?:line \d+ \()?(\w+)", g.get("message", ""))
    return m.group(1) if m else None


def class_report(grades, title="Class report") -> str:
    """The class report as one HTML page (figures embedded)."""
    if not grades:
        raise DeriveError("no results to report on")
    scores = [g["score"] for g in grades]
    top = max(g["max_score"] for g in grades)
    body = [f"<p>{len(grades)} submissions of <b>{html.escape(grades[0].get('exercise', '?'))}</b>; "
            f"mean {sum(scores) / len(scores):.2f} / {top:g}; full marks {sum(s == top for s in scores)}.</p>",
            "<h2>Scores</h2>", _figure(lambda ax: (ax.hist(scores, bins=min(20, max(5, int(top * 4))),
                                                           range=(0, top), color="#4a7"),
                                                   ax.set_xlabel("score"), ax.set_ylabel("submissions")))]
    counts = collections.Counter(m for g in grades for m in g["misconceptions"])
    body.append("<h2>Misconceptions</h2>")
    if counts:
        rows = []
        for label, n in counts.most_common():
            example = next(g for g in grades if label in g["misconceptions"])
            shown = next((t["output"] for t in example["tests"] if t["score"] < t["max_score"]), "")
            rows.append(f"<tr><td>{html.escape(label)}</td><td>{n}</td><td>{html.escape(LABELS.get(label, ''))}"
                        f"</td><td><code>{html.escape(_anonymise(shown, example))}</code></td></tr>")
        body.append("<table><tr><th>label</th><th>submissions</th><th>meaning</th><th>an example "
                    "(anonymised)</th></tr>" + "".join(rows) + "</table>")
        body.append(_figure(lambda ax: (ax.barh(list(counts)[::-1], list(counts.values())[::-1], color="#c64"),
                                        ax.set_xlabel("submissions"))))
    else:
        body.append("<p>None recognised.</p>")
    wrong = collections.Counter(w for w in map(_wrong_line, grades) if w)
    body.append("<h2>Line most often wrong</h2>")
    body.append(f"<p><code>{html.escape(wrong.most_common(1)[0][0])}</code> is the first wrong line in "
                f"{wrong.most_common(1)[0][1]} submissions.</p>" if wrong else "<p>No wrong lines.</p>")
    names = list(dict.fromkeys(t["name"] for g in grades for t in g["tests"]))
    rates = [sum(t["score"] == t["max_score"] for g in grades for t in g["tests"] if t["name"] == n) / len(grades)
             for n in names]
    body.append("<h2>Pass rate per test</h2><table><tr><th>test</th><th>passed</th></tr>" + "".join(
        f"<tr><td>{html.escape(n)}</td><td>{100 * r:.0f}%</td></tr>" for n, r in zip(names, rates)) + "</table>")
    body.append(_figure(lambda ax: (ax.bar(names, [100 * r for r in rates], color="#47a"),
                                    ax.set_ylabel("% passed"), ax.set_ylim(0, 100))))
    return _page(title, "\n".join(body))


def student_page(g, released=False) -> str:
    """One learner's page: feedback text, their points' values, their lines against the key."""
    who = g.get("name") or g.get("student") or g["submission"]
    body = [f"<pre>{html.escape(grade_text(g, released))}</pre>"]
    if g.get("late_days"):
        body.append(f"<p class=\"bad\">Submitted {g['late_days']} day(s) late: "
                    f"{g.get('late_penalty', 0):g} points off.</p>")
    for flag in g.get("flags", []):
        body.append(f"<p class=\"bad\">{html.escape(flag)}</p>")
    if g.get("points"):
        body.append("<h2>Your points</h2><table><tr><th>#</th><th>values</th></tr>" + "".join(
            f"<tr><td>{i + 1}</td><td><code>{html.escape(', '.join(f'{k}={v}' for k, v in p.items()))}"
            f"</code></td></tr>" for i, p in enumerate(g["points"])) + "</table>")
    if g.get("rows"):
        body.append("<h2>Your lines at point 1</h2><table><tr><th>line</th><th>your variable</th>"
                    "<th>your value</th><th>expected</th><th></th></tr>" + "".join(
                        f"<tr><td>{html.escape(r['line'])}</td><td>{html.escape(r['name'])}</td>"
                        f"<td>{html.escape(r['yours'])}</td><td>{html.escape(r['expected'])}</td>"
                        f"<td class=\"{'ok' if r['ok'] else 'bad'}\">{'right' if r['ok'] else 'wrong'}</td></tr>"
                        for r in g["rows"]) + "</table>")
    return _page(f"{g.get('exercise', '')}: {who}", "\n".join(body))


def student_pages(grades, folder, released=False) -> list:
    """Write ``folder/<student>.html`` for each grade (duplicate ids get -2, -3 ...)."""
    os.makedirs(folder, exist_ok=True)
    written, used = [], collections.Counter()
    for g in grades:
        base = re.sub(r"[^\w.@-]", "_", g.get("student") or os.path.basename(g["submission"]))[:80] or "student"
        used[base] += 1
        name = base if used[base] == 1 else f"{base}-{used[base]}"
        path = os.path.join(folder, name + ".html")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(student_page(g, released))
        written.append(path)
    return written
