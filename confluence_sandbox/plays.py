"""The sandbox's Play tracking space: Project TODO, Play DB, Action Log, a ToDo List and a Live doc per Play.

The pages sit at fixed ids (the defaults the README documents for ``CONFLUENCE_TODO_PAGE_ID`` and friends), all below
the first generated id (1,000,001) and far from the real fixture pages' ids, so no other page can take them.

Everything is deterministic for ``(seed, as_of)``. ``as_of`` is the day (in :data:`PLAY_TIMEZONE`) the Play pages
describe: the Action Log holds rows from the start of the previous quarter up to the day before ``as_of``, so
"this quarter and the last" stays true for whatever day the sandbox is started with. The Play DB holds the figures of
the previous weekly run (a week before ``as_of``), so a fresh aggregation changes the rows of Plays that moved since.
As people leave them, a few Action Log rows are blank or malformed (no Play, a date that is not one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from random import Random
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from confluence_sandbox.bodies import MentionUser, StorageWriter

if TYPE_CHECKING:
    from confluence_sandbox.corpus import Corpus

PLAY_SPACE_KEY = "PLAY"
PLAY_SPACE_ID = 7_438_337
PLAY_TIMEZONE = "Asia/Seoul"
PLAY_HOME_ID = 720_897
PLAY_DB_PAGE_ID = 720_899
TODO_PAGE_ID = 720_932
ACTION_LOG_PAGE_ID = 786_433
FIRST_TODO_LIST_ID = 753_719  # "EXT_Desk_D01 ToDo List", the one ToDo List that already exists
LIVE_DOCS_FOLDER_ID = 819_200
FIRST_LIVE_DOC_ID = 819_201
FIXED_IDS_BELOW = 1_000_000  # every fixed id is below this; generated ids start above it

_FAMILIES: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    ("EXT_Desk_D", "Desk", 12, ("renewal desk", "upsell desk", "win-back desk", "trial conversion desk")),
    ("EXT_Field_F", "Field", 10, ("enterprise land", "public sector", "regional expansion", "exec sponsor")),
    ("EXT_Partner_P", "Partner", 7, ("reseller co-sell", "marketplace", "SI referral")),
    ("INT_Ops_O", "Ops", 8, ("onboarding speed", "support deflection", "billing clean-up", "SLA recovery")),
    ("INT_Data_A", "Data", 6, ("churn model", "usage scoring", "pipeline hygiene")),
)
PLAY_IDS: tuple[str, ...] = tuple(f"{p}{n:02d}" for p, _f, count, _t in _FAMILIES for n in range(1, count + 1))
ACTION_TYPES = ("Activity", "Signal", "Brief", "S2", "S3")
_OTHER_TYPES = ("Meeting note", "Escalation")
_NOTES = ("", "", "", "", "Waiting on legal review", "Owner on leave next week", "Pricing approved", "재계약 협의 중")


def live_doc_ids() -> dict[str, int]:
    """Map each Play id to its Live doc's page id (what ``CONFLUENCE_PLAY_LIVE_DOCS`` holds for the sandbox)."""
    return {play: FIRST_LIVE_DOC_ID + i for i, play in enumerate(PLAY_IDS)}


def fixed_page_ids() -> frozenset[int]:
    """Every page id the Play space takes."""
    return frozenset(
        {PLAY_HOME_ID, PLAY_DB_PAGE_ID, TODO_PAGE_ID, ACTION_LOG_PAGE_ID, FIRST_TODO_LIST_ID, LIVE_DOCS_FOLDER_ID}
        | set(live_doc_ids().values())
    )


def default_as_of(epoch: datetime) -> date:
    """The day the Play pages describe when none is given: the corpus epoch's day in the Play time zone."""
    return epoch.astimezone(ZoneInfo(PLAY_TIMEZONE)).date()


def quarter_start(day: date) -> date:
    """The first day of the quarter that holds ``day``."""
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _previous_quarter_start(day: date) -> date:
    start = quarter_start(day)
    return quarter_start(start - timedelta(days=1))


@dataclass(frozen=True, slots=True)
class ActionRow:
    """One generated Action Log row; ``when`` is None for blank rows and rows whose date is malformed."""

    log_id: str
    play_id: str
    action_type: str
    title: str
    url: str
    actor: str
    when: datetime | None
    created_text: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class _Play:
    play_id: str
    name: str
    owner: int  # index into the corpus's users
    pace: float  # expected actions per week


def _plays(rng: Random) -> list[_Play]:
    out = []
    for prefix, family, count, themes in _FAMILIES:
        for n in range(1, count + 1):
            theme = themes[(n - 1) % len(themes)]
            # A few Plays are hot, most steady, some dormant (they go Red): the Play DB shows all three statuses.
            pace = rng.choice((0.1, 0.3, 0.5, 0.6, 0.8, 1.0, 1.2))
            out.append(_Play(f"{prefix}{n:02d}", f"{family} {n:02d}: {theme}", rng.randrange(9), pace))
    return out


_TITLES = {
    "Activity": ("Call with {c} procurement", "Demo for {c} ops team", "Follow-up e-mail to {c}", "{c} 미팅 후속 조치"),
    "Signal": ("{c} pricing page visits up", "{c} asked for a security review", "{c} champion changed roles"),
    "Brief": ("Account brief: {c}", "{c} 제안 요약", "Exec brief for {c}"),
    "S2": ("{c} validation workshop done", "{c} technical validation passed"),
    "S3": ("{c} pilot kicked off", "{c} 파일럿 시작"),
    "Meeting note": ("Weekly sync notes ({c})",),
    "Escalation": ("{c} billing escalation",),
}
_COMPANIES = ("ACME", "Globex", "Initech", "Hooli", "Umbrella", "Stark", "Wayne", "한빛상사", "누리텔레콤", "Soylent")


def action_rows(seed: int, as_of: date, users: list[str]) -> list[ActionRow]:
    """Generate the Action Log rows, oldest first, including the blank and malformed ones.

    Args:
        seed: The corpus seed.
        as_of: The day the log is current to (rows end the day before).
        users: Display names of the people who log actions.

    Returns:
        The rows in log order.
    """
    rng = Random(f"plays:{seed}:{as_of.isoformat()}:log")
    tz = ZoneInfo(PLAY_TIMEZONE)
    plays = _plays(Random(f"plays:{seed}:plays"))
    start = datetime.combine(_previous_quarter_start(as_of), time(), tz)
    end = datetime.combine(as_of, time(), tz)
    weeks = (end - start).days / 7
    events: list[tuple[datetime, _Play, str]] = []
    for play in plays:
        count = max(1, round(play.pace * weeks * rng.uniform(0.8, 1.2)))
        for _ in range(count):
            when = start + timedelta(seconds=rng.randrange(int((end - start).total_seconds())))
            when = when.replace(second=0, microsecond=0)
            roll = rng.random()
            kind = (
                "Activity"
                if roll < 0.55
                else "Signal"
                if roll < 0.75
                else "Brief"
                if roll < 0.85
                else "S2"
                if roll < 0.91
                else "S3"
                if roll < 0.94
                else rng.choice(_OTHER_TYPES)
            )
            events.append((when, play, kind))
    # Rows on both sides of the quarter boundary, where Seoul and UTC disagree (Seoul is 9 hours ahead).
    boundary = datetime.combine(quarter_start(as_of), time(), tz)
    for offset, play in ((timedelta(minutes=-30), plays[0]), (timedelta(hours=1, minutes=30), plays[1])):
        events.append((boundary + offset, play, "Activity"))
    events.sort(key=lambda e: (e[0], e[1].play_id))
    rows: list[ActionRow] = []
    for n, (when, play, kind) in enumerate(events, start=1):
        company = rng.choice(_COMPANIES)
        title = rng.choice(_TITLES[kind]).format(c=company)
        url = f"https://crm.example.com/activities/{70_000 + n * 7}" if rng.random() < 0.7 else ""
        rows.append(
            ActionRow(
                log_id=f"AL-{n:04d}",
                play_id=play.play_id,
                action_type=kind if rng.random() < 0.9 else kind.lower(),
                title=title,
                url=url,
                actor=users[rng.randrange(len(users))],
                when=when,
                created_text=_date_text(rng, when, boundary),
                note=rng.choice(_NOTES),
            )
        )
    _spoil(rows, rng)
    return rows


def _date_text(rng: Random, when: datetime, boundary: datetime) -> str:
    if abs(when - boundary) < timedelta(hours=2) and when > boundary:
        # Pasted from a tool that writes UTC: on the other side of the quarter in UTC, not in Seoul.
        return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    roll = rng.random()
    if roll < 0.7:
        return when.strftime("%Y-%m-%d %H:%M")
    if roll < 0.85:
        return f"<time:{when:%Y-%m-%d}>"
    if roll < 0.95:
        return when.strftime("%Y-%m-%d")
    return when.isoformat(timespec="seconds")


def _spoil(rows: list[ActionRow], rng: Random) -> None:
    """Blank and malformed rows, as people leave them in a table they edit by hand."""
    if len(rows) < 40:
        return
    picks = rng.sample(range(5, len(rows) - 5), 6)
    blank = ActionRow("", "", "", "", "", "", None, "")
    spoilers = [
        lambda r: blank,
        lambda r: blank,
        lambda r: _replace(r, created_text="TBD", when=None),
        lambda r: _replace(r, created_text=f"{r.when:%Y}-13-{r.when:%d}", when=None),  # type: ignore[union-attr]
        lambda r: _replace(r, play_id=""),
        lambda r: _replace(r, created_text="", when=None),
    ]
    for index, spoil in zip(sorted(picks), spoilers, strict=True):
        rows[index] = spoil(rows[index])


def _replace(row: ActionRow, **changes: object) -> ActionRow:
    values = {name: getattr(row, name) for name in ActionRow.__slots__}
    values.update(changes)
    return ActionRow(**values)  # type: ignore[arg-type]


def counts_as_of(rows: list[ActionRow], day: date) -> dict[str, dict[str, int]]:
    """Per Play, the quarter-to-date counts of each action type before ``day`` (Seoul), as a weekly run saw them."""
    tz = ZoneInfo(PLAY_TIMEZONE)
    start = datetime.combine(quarter_start(day), time(), tz)
    end = datetime.combine(day, time(), tz)
    out: dict[str, dict[str, int]] = {p: dict.fromkeys(ACTION_TYPES, 0) for p in PLAY_IDS}
    for row in rows:
        kind = row.action_type.capitalize() if row.action_type.lower() not in ("s2", "s3") else row.action_type.upper()
        if row.when is None or not row.play_id or kind not in ACTION_TYPES or not start <= row.when < end:
            continue
        out[row.play_id][kind] += 1
    return out


# --- bodies ---------------------------------------------------------------------------------------------------------


def _cell_date(w: StorageWriter, text: str) -> str:
    if text.startswith("<time:"):
        return f'<time datetime="{text[6:-1]}" />'
    return w.text(text)


def action_log_body(rows: list[ActionRow], flavor: str, seed: int) -> str:
    """Render the Action Log page: a short introduction, the table, and a note below it."""
    w = StorageWriter(Random(f"plays:{seed}:log-body"), flavor)
    w.panel(
        "info",
        [
            "<p>One row per action. Add new rows at the bottom; the pipeline appends rows for events it receives "
            "(their log_id is the event id). Dates are Seoul time unless they say otherwise.</p>"
        ],
    )
    table_rows = []
    for row in rows:
        url = f'<a href="{escape(row.url)}">{escape(row.url.rsplit("/", 1)[-1])}</a>' if row.url else ""
        table_rows.append(
            [
                w.text(row.log_id),
                _cell_date(w, row.created_text),
                w.text(row.play_id),
                w.text(row.action_type),
                w.text(row.title),
                url,
                w.text(row.actor),
                w.text(row.note),
            ]
        )
    w.table(["Log_ID", "Created_At", "Play_ID", "Action_Type", "Title", "URL", "Actor", "Note"], table_rows)
    w.p(w.text("Action types: Activity, Signal, Brief, S2 (validated), S3 (pilot); other types are not counted."))
    return w.result()


def _rag(counts: dict[str, int], elapsed: float) -> str:
    if counts["S2"] or counts["S3"]:
        return "Green"
    pace = counts["Activity"] / max(elapsed, 0.05)
    return "Green" if pace >= 6 else "Amber" if pace >= 3 else "Red"


def play_db_body(
    plays: list[_Play],
    counts: dict[str, dict[str, int]],
    last_run: date,
    flavor: str,
    seed: int,
    users: list[MentionUser],
) -> str:
    """Render the Play DB page: guidance, the table (one row per Play), definitions and a Jira macro."""
    w = StorageWriter(Random(f"plays:{seed}:db-body"), flavor)
    w.panel(
        "note",
        [
            "<p>The QTD columns, Status and last_updated are written by the weekly Play QTD aggregation. "
            "Edit Notes freely; edits to the other columns are overwritten on the next run.</p>"
        ],
        title="Maintained by the pipeline",
    )
    w.p(w.text("Last reviewed in the Monday GTM sync."), "&nbsp;", w.jira("GTM-42"))
    q_start = quarter_start(last_run)
    q_days = (quarter_start(q_start + timedelta(days=95)) - q_start).days
    elapsed = max(0.0, (last_run - q_start).days / q_days)
    colours = {"Green": "Green", "Amber": "Yellow", "Red": "Red"}
    rows = []
    for play in plays:
        c = counts[play.play_id]
        status = _rag(c, elapsed)
        todo = w.page_link(f"{play.play_id} ToDo List") if play.play_id == PLAY_IDS[0] else ""
        rows.append(
            [
                w.text(play.play_id),
                w.text(play.name),
                w.mention(users[play.owner]),
                str(c["Activity"]),
                str(c["Signal"]),
                str(c["Brief"]),
                str(c["S2"]),
                str(c["S3"]),
                w.status(colours[status], status),
                w.time(datetime.combine(last_run, time())),
                todo,
                w.text(Random(f"{seed}:{play.play_id}:note").choice(_NOTES)),
            ]
        )
    header = [
        "Play_ID",
        "Play name",
        "Owner",
        "Activity_QTD",
        "Signal_QTD",
        "Brief_QTD",
        "S2_QTD",
        "S3_QTD",
        "Status",
        "last_updated",
        "ToDo",
        "Notes",
    ]
    w.table(header, rows)
    w.h(2, "Definitions")
    w.ul(
        [
            "Activity: calls, demos and e-mails logged against the Play.",
            "Signal: buying signals; Brief: account briefs; S2: validation done; S3: pilot started.",
            "Status: Green on pace, Amber behind, Red far behind (see the README of the pipeline).",
        ]
    )
    return w.result()


def todo_body(flavor: str, seed: int) -> str:
    """Render Project TODO: sprint progress, and the list of Play ToDo Lists."""
    w = StorageWriter(Random(f"plays:{seed}:todo-body"), flavor)
    w.h(2, "Sprint progress")
    w.table(
        ["Item", "Owner", "State"],
        [
            ["Play DB clean-up", "Alice Kim", w.status("Green", "DONE")],
            ["Action Log import from CRM", "박지훈", w.status("Yellow", "IN PROGRESS")],
            ["Live doc template v2", "Carol Jones", w.status("Grey", "TODO")],
        ],
    )
    w.tasks([(True, "Agree on RAG thresholds"), (False, "Review dormant Plays"), (False, "Retire INT_Data_A06?")])
    w.h(2, "Play ToDo Lists")
    w.ul([w.page_link(f"{PLAY_IDS[0]} ToDo List")])
    w.p(w.text("New lists are created with `confluence-pipeline plays create-todo PLAY_ID`."))
    return w.result()


def todo_list_body(play_id: str, flavor: str, seed: int) -> str:
    """Render a Play's ToDo List page."""
    w = StorageWriter(Random(f"plays:{seed}:todo-list:{play_id}"), flavor)
    w.p(w.text(f"Detailed tasks of {play_id}."))
    w.tasks([(True, "Book kick-off with the account team"), (False, "Draft the account brief"), (False, "Pilot plan")])
    return w.result()


def live_doc_body(play: _Play, rows: list[ActionRow], flavor: str, seed: int, users: list[MentionUser]) -> str:
    """Render a Play's Live doc: summary, open questions, and a timeline with its recent history."""
    w = StorageWriter(Random(f"plays:{seed}:live:{play.play_id}"), flavor)
    w.p(w.text(f"Running record of {play.play_id} ({play.name}). Owner: "), w.mention(users[play.owner]))
    w.h(2, "Timeline")
    mine = [r for r in rows if r.play_id == play.play_id and r.when is not None][-6:]
    for row in mine:
        assert row.when is not None
        w.p(f"<strong>{row.when:%Y-%m-%d}</strong> · {w.text(row.action_type)} · {w.text(row.title)}")
    w.h(2, "Open questions")
    w.ul(["Who signs off the pilot budget?", "Do we need a security questionnaire?"])
    return w.result()


def add_play_space(corpus: Corpus, *, seed: int, as_of: date, created_ms: int) -> int:
    """Add the Play space and its pages to a corpus being generated.

    Args:
        corpus: The corpus (its spaces and pages are extended in place).
        seed: The corpus seed.
        as_of: The day the pages describe (see the module docstring).
        created_ms: When the space was created (epoch milliseconds); pages are created after it.

    Returns:
        The number of pages added.
    """
    from confluence_sandbox.corpus import KIND_CREATED, USERS, Page, Space

    taken = fixed_page_ids() & set(corpus.page_ids())
    if taken:
        raise ValueError(f"the Play space's fixed page ids are taken already: {sorted(taken)}")
    rng = Random(f"plays:{seed}:pages")
    corpus.spaces[PLAY_SPACE_KEY] = Space(
        key=PLAY_SPACE_KEY,
        name="GTM Plays",
        id=PLAY_SPACE_ID,
        type="global",
        status="current",
        description="Play tracking: Play DB, Action Log, Live docs and ToDo Lists.",
        homepage_id=PLAY_HOME_ID,
        created_ms=created_ms,
        jira_project="GTM",
        korean=False,
    )
    tz = ZoneInfo(PLAY_TIMEZONE)
    names = [u.display_name for u in USERS]
    mentions = [u.mention() for u in USERS]
    rows = action_rows(seed, as_of, names)
    plays = _plays(Random(f"plays:{seed}:plays"))
    last_run = as_of - timedelta(days=7)
    flavor = corpus.flavor

    def stamp(day: date, hour: int) -> int:
        return int(datetime.combine(day, time(hour), tz).timestamp() * 1000)

    def add(
        page_id: int, title: str, parent: int | None, body: str, version: int, modified: int, position: int
    ) -> None:
        page = Page(
            id=page_id,
            space_key=PLAY_SPACE_KEY,
            parent_id=parent,
            title=title,
            position=position,
            created_ms=min(created_ms + 86_400_000 * (1 + position % 20), modified),
            creator=rng.randrange(len(USERS)),
            topic=KIND_CREATED,
            labels=("play-tracking",),
        )
        page.version = version
        page.modified_ms = max(modified, page.created_ms)
        page.modifier = rng.randrange(len(USERS))
        page.body_override = body
        page.override_version = version
        corpus._index(page)

    home = "<p>Play tracking for the GTM team: the Play DB, the Action Log, one Live doc per Play.</p>"
    home += '<ac:structured-macro ac:name="children" ac:schema-version="1" />'
    log_modified = max((r.when for r in rows if r.when is not None), default=datetime.combine(as_of, time(), tz))
    add(PLAY_HOME_ID, "GTM Plays Home", None, home, 4, stamp(last_run - timedelta(days=60), 10), 0)
    db_body = play_db_body(plays, counts_as_of(rows, last_run), last_run, flavor, seed, mentions)
    add(PLAY_DB_PAGE_ID, "Play DB", PLAY_HOME_ID, db_body, 58, stamp(last_run, 9), 1)
    add(TODO_PAGE_ID, "Project TODO", PLAY_HOME_ID, todo_body(flavor, seed), 23, stamp(last_run, 15), 2)
    list_body = todo_list_body(PLAY_IDS[0], flavor, seed)
    list_modified = stamp(last_run - timedelta(days=20), 11)
    add(FIRST_TODO_LIST_ID, f"{PLAY_IDS[0]} ToDo List", TODO_PAGE_ID, list_body, 3, list_modified, 0)
    log_ms = int(log_modified.timestamp() * 1000) + 60_000
    add(ACTION_LOG_PAGE_ID, "Action Log", PLAY_HOME_ID, action_log_body(rows, flavor, seed), 212, log_ms, 3)
    folder = "<p>One Live doc per Play.</p>"
    add(LIVE_DOCS_FOLDER_ID, "Live docs", PLAY_HOME_ID, folder, 1, stamp(last_run - timedelta(days=80), 9), 4)
    for i, play in enumerate(plays):
        mine = [r.when for r in rows if r.play_id == play.play_id and r.when is not None]
        modified = int(max(mine).timestamp() * 1000) + 120_000 if mine else stamp(last_run, 9)
        body = live_doc_body(play, rows, flavor, seed, mentions)
        version = 2 + len(mine) // 3
        add(FIRST_LIVE_DOC_ID + i, f"{play.play_id} Live doc", LIVE_DOCS_FOLDER_ID, body, version, modified, i)
    return 6 + len(plays)
