"""``policybot report``: what the people who own the policies should look at this week.

Read from the state database only (the answers, their cited documents and the feedback
the bot stored):

- **gaps**: questions that ended *not covered* or *evidence only*, near-duplicates grouped
  by the configured embedding model (:mod:`bot.reports.clusters`), biggest group first;
- **👎 by document**: the documents of answers rated unhelpful, with the reasons given;
- **most cited**: the documents answers cited most;
- **cited but old**: of those, the ones whose date (as of the latest answer citing them)
  is more than a year back.

Who asked is never in the report, only how many people did: the report is read by
policy owners, who need the gaps, not the askers. It does hold question texts and the
titles of restricted documents, so it is for admins and policy owners (anyone who can
read the state database can run it).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.history_tables import answer_docs, answers, feedback
from bot.reports.clusters import SIMILARITY, Embed, group_similar
from bot.reports.pages import render
from model.answer import EVIDENCE, NOT_COVERED
from model.prompts import EVIDENCE_TEXT

STALE_AFTER = timedelta(days=365)
QUESTIONS_READ = 2000  # newest gap questions clustered; older ones in the window are counted
_SINCE = re.compile(r"^\s*(\d+)\s*(h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> timedelta:
    """``7d``, ``48h``, ``2w``: how far back the report looks. ValueError otherwise."""
    m = _SINCE.match(text)
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"--since {text!r}: give a positive number of hours, days or "
                         "weeks, like 48h, 7d or 2w")
    return timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})


@dataclass
class Gap:
    question: str  # the wording asked most often (first asked on a tie)
    asked: int  # questions in the group
    people: int  # distinct askers (a count only: who they are stays out of the report)
    not_covered: int
    evidence: int
    wordings: list[str] = field(default_factory=list)  # other wordings, most asked first
    last_asked: str = ""


@dataclass
class DocFeedback:
    doc_id: str
    title: str
    url: str
    down: int
    reasons: list[tuple[str, int]]  # reason → how many 👎 gave it
    comments: list[str]  # what people wrote, newest first


@dataclass
class CitedDoc:
    doc_id: str
    title: str
    url: str
    answers: int  # answers in the window citing it
    date: str = ""  # the document's date as of the latest citation ("" unknown)


@dataclass
class WeeklyReport:
    since: str
    until: str
    answers: int
    gaps_asked: int
    gaps: list[Gap]
    feedback: list[DocFeedback]
    most_cited: list[CitedDoc]
    cited_old: list[CitedDoc]
    undated: int  # cited documents with no known date (not judged old or new)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)  # SQLite drops the zone


def _outcome(row: Any) -> str:
    """Stored answers keep ``abstained`` and the text: evidence answers carry the
    evidence wording, everything else abstained said "not covered"."""
    return EVIDENCE if row.text == EVIDENCE_TEXT else NOT_COVERED


def gap_rows(engine: Any, start: datetime) -> list[Any]:
    """Questions of the window that ended not covered or evidence only, newest first."""
    query = (select(answers.c.question, answers.c.text, answers.c.user_id,
                    answers.c.created_at)
             .where(answers.c.created_at >= start, answers.c.abstained.is_(True))
             .order_by(answers.c.created_at.desc()))
    with engine.connect() as conn:
        return list(conn.execute(query))


def gaps(rows: list[Any], embed: Embed, threshold: float = SIMILARITY,
         limit: int | None = None, read: int = QUESTIONS_READ) -> list[Gap]:
    """``rows`` (of :func:`gap_rows`; the newest ``read``) grouped into gaps, biggest
    first."""
    rows = rows[:read]
    out = []
    for group in group_similar([r.question for r in rows], embed, threshold):
        members = [rows[i] for i in group]
        counts = Counter(" ".join(r.question.split()) for r in members)
        ranked = [q for q, _ in counts.most_common()]
        outcomes = Counter(_outcome(r) for r in members)
        last = max(_aware(r.created_at) for r in members)
        out.append(Gap(ranked[0], len(members), len({r.user_id for r in members}),
                       outcomes[NOT_COVERED], outcomes[EVIDENCE], ranked[1:6],
                       last.strftime("%Y-%m-%d")))
        if limit and len(out) == limit:
            break
    return out


def _cited(citations: Any) -> dict[str, dict[str, Any]]:
    """doc_id → the stored citation (title, url, doc_date) of one answer."""
    out: dict[str, dict[str, Any]] = {}
    for c in citations or []:
        if isinstance(c, dict) and c.get("doc_id"):
            out.setdefault(str(c["doc_id"]), c)
    return out


def feedback_by_document(engine: Any, start: datetime) -> list[DocFeedback]:
    """👎 of the window per cited document (an answer with no citation — not covered or
    evidence — counts under "no document cited"), most 👎 first."""
    query = (select(feedback.c.reasons, feedback.c.details, feedback.c.created_at,
                    answers.c.citations)
             .join(answers, answers.c.id == feedback.c.answer_id)
             .where(feedback.c.rating == "down", feedback.c.created_at >= start)
             .order_by(feedback.c.created_at.desc()))
    docs: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for row in conn.execute(query):
            cited = _cited(row.citations) or {"": {"title": "(no document cited)", "url": ""}}
            for doc_id, c in cited.items():
                entry = docs.setdefault(doc_id, {"title": str(c.get("title") or doc_id),
                                                 "url": str(c.get("url") or ""), "down": 0,
                                                 "reasons": Counter(), "comments": []})
                entry["down"] += 1
                entry["reasons"].update(str(r) for r in (row.reasons or []))
                if (row.details or "").strip():
                    entry["comments"].append(row.details.strip())
    out = [DocFeedback(d, e["title"], e["url"], e["down"], e["reasons"].most_common(),
                       e["comments"][:10]) for d, e in docs.items()]
    return sorted(out, key=lambda f: (-f.down, f.title))


def top_gaps(engine: Any, embed: Embed, *, since: timedelta = timedelta(days=7),
             limit: int = 5, read: int = 500) -> list[Gap]:
    """The biggest gaps of the last ``since`` (App Home: the week's top five, grouped from
    the newest ``read`` questions so opening the tab stays quick)."""
    return gaps(gap_rows(engine, datetime.now(UTC) - since), embed, limit=limit, read=read)


def cited_documents(engine: Any, start: datetime) -> list[CitedDoc]:
    """Documents cited by the window's answers, most cited first, each with its title,
    link and date as the latest answer citing it recorded them."""
    query = (select(answer_docs.c.doc_id, answers.c.citations, answers.c.created_at)
             .join(answers, answers.c.id == answer_docs.c.answer_id)
             .where(answers.c.created_at >= start)
             .order_by(answers.c.created_at))
    docs: dict[str, CitedDoc] = {}
    with engine.connect() as conn:
        for row in conn.execute(query):
            c = _cited(row.citations).get(row.doc_id, {})
            doc = docs.setdefault(row.doc_id, CitedDoc(row.doc_id, row.doc_id, "", 0))
            doc.answers += 1
            doc.title = str(c.get("title") or doc.title)  # the latest wins
            doc.url = str(c.get("url") or doc.url)
            doc.date = str(c.get("doc_date") or doc.date)
    return sorted(docs.values(), key=lambda d: (-d.answers, d.title))


def _date(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.strip()[:10])
    except ValueError:
        return None
    return when.replace(tzinfo=UTC)


def weekly_report(engine: Any, embed: Embed, since: timedelta, *,
                  now: datetime | None = None, top: int = 10,
                  threshold: float = SIMILARITY) -> WeeklyReport:
    """The report over ``[now - since, now]``."""
    now = now or datetime.now(UTC)
    start = now - since
    rows = gap_rows(engine, start)
    cited = cited_documents(engine, start)
    dated = [(d, _date(d.date)) for d in cited]
    old = [d for d, when in dated if when is not None and now - when > STALE_AFTER]
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(answers)
                             .where(answers.c.created_at >= start)).scalar_one()
    return WeeklyReport(
        since=start.strftime("%Y-%m-%d %H:%M UTC"), until=now.strftime("%Y-%m-%d %H:%M UTC"),
        answers=total, gaps_asked=len(rows), gaps=gaps(rows, embed, threshold, top),
        feedback=feedback_by_document(engine, start), most_cited=cited[:top],
        cited_old=old[:top], undated=sum(1 for _, when in dated if when is None))


def report_text(r: WeeklyReport) -> str:
    """The report for a terminal or an email body."""
    lines = [f"PolicyBot report {r.since} – {r.until}: {r.answers} answers, "
             f"{r.gaps_asked} ended not covered or evidence only", "",
             "Gaps (questions the handbook did not answer, similar ones grouped):"]
    lines += [f"  {g.asked:>4}× {g.question}  ({g.people} people; not covered "
              f"{g.not_covered}, evidence {g.evidence}; last {g.last_asked})"
              + "".join(f"\n          also: {w}" for w in g.wordings[:3])
              for g in r.gaps] or ["  none"]
    lines += ["", "👎 feedback by document:"]
    for f in r.feedback:
        reasons = ", ".join(f"{reason} {n}" for reason, n in f.reasons) or "no reason given"
        lines.append(f"  {f.down:>4}× {f.title} [{f.doc_id or '-'}]: {reasons}")
        lines += [f"          “{c}”" for c in f.comments[:3]]
    if not r.feedback:
        lines.append("  none")
    lines += ["", "Most cited documents:"]
    lines += [f"  {d.answers:>4}× {d.title} [{d.doc_id}]" + (f", dated {d.date[:10]}"
                                                           if d.date else "")
              for d in r.most_cited] or ["  none"]
    lines += ["", "Cited but unchanged for over a year:"]
    lines += [f"  {d.answers:>4}× {d.title} [{d.doc_id}], dated {d.date[:10]}"
              for d in r.cited_old] or ["  none"]
    if r.undated:
        lines.append(f"  ({r.undated} cited documents have no known date)")
    return "\n".join(lines)


def report_html(r: WeeklyReport, *, title: str = "PolicyBot weekly report") -> str:
    return render("weekly.html.j2", title=title, r=r)
