"""Check the evaluation datasets in evals/datasets/ before anyone trusts a number computed on them.

    .venv/bin/python evals/validate_datasets.py [--quiet]

For every row of triage.jsonl, retrieval.jsonl, drafts.jsonl, holdout.jsonl (the blind
held-out triage set, checked like triage.jsonl), conversations.jsonl and
conversations_holdout.jsonl and conversations_blind.jsonl (the two blind held-out
conversation sets, checked like conversations.jsonl with their own coverage floors) and
intake_shapes.jsonl (tickets in the shapes the real intake makes, see
evals/intake_shapes.py) it checks that:

- the row parses as an `agent.models.Ticket` (for a conversation: its first message) and its
  ids are unique (across all eight files) and follow the file's prefix (tri-, ret-, dra-,
  hol-, con-, coh-, cob-, int-);
- `expected` only holds known keys with allowed values (team slugs from the teams file,
  kinds, priorities, playbooks, draft checks);
- the expected priority is the one the handbook's metadata rules give (never the text);
  on intake_shapes.jsonl, labelled by hand from the handbook pages, a difference is only
  a warning (the label stands; the rules may be what is wrong);
- playbooks are consistent with the metadata (community source <-> community_question,
  2FA removal and ownership transfer are growth account requests);
- retrieval rows cite URLs that exist: posthog.com pages from the shared manifest, project
  pages from the front matter of knowledge/corpus/*.md;
- drafts: greeting names match the ticket's first name, 2FA drafts ask for the ticket id,
  injected URLs are forbidden, known-issue URLs exist in the shared issue file;
- conversations: the turns have the allowed shapes and end with a customer message, the
  expected stage, status, team, playbook and language are allowed and consistent, and
  the structural traits (a reply while a draft waits, quoted history, hero edits) match
  the turns (the row format is described in evals/conversation_rows.py);
- no subject or body (nor the new text of a conversation's customer replies) equals or
  nearly duplicates one in agent/data/examples.jsonl (the classifier's training examples)
  or another dataset row.

It prints counts per team, kind, priority, playbook and language, and exits 1 on any error.
Checks that need ../shared (the manifest, the issue file) are skipped when it is absent.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from collections import Counter
from collections.abc import Callable
from difflib import SequenceMatcher
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.models import KINDS, PRIORITY_ORDER, Ticket  # noqa: E402
from evals import conversation_rows, intake_shapes  # noqa: E402

DATASETS = ROOT / "evals" / "datasets"
EXAMPLES = ROOT / "agent" / "data" / "examples.jsonl"
TEAMS_FILE = ROOT / "agent" / "data" / "teams.toml"
PROJECT_CORPUS = ROOT / "knowledge" / "corpus"
SHARED = ROOT.parent / "shared"
MANIFEST = SHARED / "corpus" / "posthog-com" / "_manifest.tsv"
ISSUES = SHARED / "data" / "posthog_issues_dev.jsonl"

PLAYBOOKS = (None, "self_hosted", "two_factor_removal", "ownership_transfer", "community_question")
LANGUAGES = {"en", "de", "fr", "es", "pt", "nl", "it"}
DRAFT_LANGUAGES = {"en", "de", "fr", "es", "pt"}
STATUSES = (None, "pending", "solved")
TRIAGE_EXPECTED = {"team", "kind", "priority", "playbook"}
DRAFT_KEYS = {
    "must_contain",
    "must_not_contain",
    "greeting_name",
    "language",
    "must_link_issue",
    "status_after",
    "expected_issue_url",
}
PLAN_PRIORITY = {"enterprise": "high", "paid": "normal", "free": "low"}
INJECTED_URL = re.compile(r"https?://[^\s)\"'>]*evil\.example[^\s)\"'>]*", re.I)

#: The files whose rows are conversations (conversation_rows checks them).
CONVERSATION_FILES = ("conversations", "conversations_holdout", "conversations_blind")
#: Each conversations file's coverage floors (the counts its brief asked for).
CONVERSATION_FLOORS = {
    "conversations": conversation_rows.FLOORS,
    "conversations_holdout": conversation_rows.HOLDOUT_FLOORS,
    "conversations_blind": conversation_rows.BLIND_FLOORS,
}

#: Near-duplicate thresholds, on word sequences after removing issue-template boilerplate:
#: difflib's ratio for subjects (of at least SUBJECT_MIN_WORDS words) and for bodies, and the
#: Jaccard similarity of word 3-gram sets for bodies (catches reordered copies).
SUBJECT_RATIO = 0.8
BODY_RATIO = 0.5
BODY_JACCARD = 0.35
SUBJECT_MIN_WORDS = 4
#: Bodies shorter than this many words are compared for equality only (very short tickets
#: like "flags broken??" legitimately share most of their words with other short tickets).
BODY_MIN_WORDS = 8
#: Headings of the GitHub issue templates: shared by many rows, so not evidence of copying.
BOILERPLATE = re.compile(
    r"^\s*(#+\s.*|\*\*[^*]+\*\*\s*$|is your feature request related to a problem\??.*|"
    r"describe the (solution|alternatives?)[^\n]*|additional context|"
    r"(bug description|how to reproduce|expected behaviou?r|environment))\s*$",
    re.I | re.M,
)


class Report:
    """Errors (the dataset is wrong) and warnings (a check could not run)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, where: str, message: str) -> None:
        """Record a problem that makes the run fail."""
        self.errors.append(f"{where}: {message}")

    def warn(self, where: str, message: str) -> None:
        """Record a check that was skipped or a doubtful value."""
        self.warnings.append(f"{where}: {message}")


def rule_priority(ticket: Ticket) -> str:
    """Return the priority the handbook's queue order gives from metadata only."""
    if ticket.cs_escalated:
        return "urgent"
    if ticket.priority:
        return ticket.priority
    if ticket.source == "community":
        return "community"
    if ticket.organization.plan:
        return PLAN_PRIORITY[ticket.organization.plan]
    if ticket.source == "slack":  # the newer page: 🎫 threads are normally high priority
        return "high"
    if ticket.source == "github":
        return "community"
    return "low"


def priority_basis(ticket: Ticket) -> str:
    """Name the metadata rule that decides the priority (for coverage counts)."""
    if ticket.cs_escalated:
        return "cs_escalated"
    if ticket.priority:
        return f"zendesk_{ticket.priority}"
    if ticket.source == "community":
        return "community"
    if ticket.organization.plan:
        return f"plan_{ticket.organization.plan}"
    if ticket.source == "slack":
        return "slack"
    if ticket.source == "github":
        return "github"
    return "unknown"


PRIORITY_BASES = (
    "cs_escalated",
    "zendesk_high",
    "zendesk_normal",
    "zendesk_low",
    "community",
    "plan_enterprise",
    "plan_paid",
    "plan_free",
    "slack",
    "github",
    "unknown",
)


def load_jsonl(path: Path, report: Report) -> list[dict]:
    """Read one JSON object per line, remembering where each came from in `_where`."""
    rows: list[dict] = []
    if not path.exists():
        report.error(path.name, "file is missing")
        return rows
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            report.error(f"{path.name}:{n}", "blank line")
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            report.error(f"{path.name}:{n}", f"not JSON: {exc}")
            continue
        if not isinstance(row, dict):
            report.error(f"{path.name}:{n}", "not a JSON object")
            continue
        row["_where"] = f"{path.name}:{n} ({row.get('id')})"
        rows.append(row)
    return rows


def team_slugs() -> set[str]:
    """Return the team slugs of the default teams file."""
    with TEAMS_FILE.open("rb") as fh:
        return set(tomllib.load(fh))


def front_matter_urls(folder: Path) -> dict[str, str]:
    """Map the `url:` of every markdown page's front matter to the page's file name."""
    urls: dict[str, str] = {}
    for page in sorted(folder.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        match = re.match(r"^---\s*\n(.*?)\n---\s*\n", text, re.S)
        if not match:
            continue
        for line in match.group(1).splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "url" and value.strip():
                urls[value.strip().strip("'\"")] = page.name
    return urls


def manifest_urls() -> set[str] | None:
    """Return the URLs of the shared posthog.com pages, or None without ../shared."""
    if not MANIFEST.exists():
        return None
    urls = set()
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    col = header.index("url")
    for line in lines[1:]:
        cells = line.split("\t")
        if len(cells) > col and cells[col].startswith("http"):
            urls.add(cells[col])
    return urls


def issue_urls() -> set[str] | None:
    """Return the URLs of the shared GitHub issues, or None without ../shared."""
    if not ISSUES.exists():
        return None
    return {
        json.loads(line).get("url")
        for line in ISSUES.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }


# --- text similarity -------------------------------------------------------------------------


def words(text: str | None) -> list[str]:
    """Lower-case words of a text, issue-template headings removed."""
    return re.findall(r"\w+", BOILERPLATE.sub(" ", text or "").lower())


def shingles(seq: list[str]) -> set[tuple[str, ...]]:
    """Return the set of word 3-grams."""
    return {tuple(seq[i : i + 3]) for i in range(max(0, len(seq) - 2))}


def jaccard(a: set, b: set) -> float:
    """Return the Jaccard similarity of two sets (0 when either is empty)."""
    return len(a & b) / len(a | b) if a and b else 0.0


class TextIndex:
    """Subjects or bodies seen so far, for equality and near-duplicate lookups."""

    def __init__(self, field: str) -> None:
        self.field = field
        self.exact: dict[str, str] = {}
        self.entries: list[tuple[str, list[str], set]] = []

    def add(self, text: str | None, owner: str) -> None:
        """Remember a text and where it came from."""
        seq = words(text)
        if not seq:
            return
        self.exact.setdefault(" ".join(seq), owner)
        self.entries.append((owner, seq, shingles(seq)))

    def clash(self, text: str | None, me: str) -> str | None:
        """Describe the first remembered text this one equals or nearly duplicates, if any."""
        seq = words(text)
        if not seq:
            return None
        owner = self.exact.get(" ".join(seq))
        if owner and owner != me:
            return f"identical to {owner}"
        is_subject = self.field == "subject"
        if len(seq) < (SUBJECT_MIN_WORDS if is_subject else BODY_MIN_WORDS):
            return None
        ratio_limit = SUBJECT_RATIO if is_subject else BODY_RATIO
        mine = shingles(seq)
        matcher = SequenceMatcher(autojunk=False)
        matcher.set_seq2(seq)
        for other, theirs, their_shingles in self.entries:
            if other == me:
                continue
            overlap = jaccard(mine, their_shingles)
            if not is_subject and overlap >= BODY_JACCARD:
                return f"near-duplicate of {other} (3-gram jaccard {overlap:.2f})"
            matcher.set_seq1(theirs)
            if matcher.real_quick_ratio() < ratio_limit or matcher.quick_ratio() < ratio_limit:
                continue
            ratio = matcher.ratio()
            if ratio >= ratio_limit:
                return f"near-duplicate of {other} (similarity {ratio:.2f})"
        return None


def customer_texts(row: dict) -> dict[str, list[str | None]]:
    """Return the customer's texts of a row per field.

    The subject and body, and for a conversation the new text (quoted history removed) of
    every customer reply, compared as bodies.
    """
    return {
        "subject": [row.get("subject")],
        "body": [row.get("body"), *conversation_rows.customer_texts(row)],
    }


# --- per-file checks ---------------------------------------------------------------------------


def check_ticket(row: dict, prefix: str, seen_ids: dict[str, str], report: Report) -> Ticket | None:
    """Parse a row as a Ticket and check its id; None when it is unusable."""
    where = row["_where"]
    rid = row.get("id")
    if not isinstance(rid, str) or not re.fullmatch(rf"{prefix}-\d{{4}}", rid):
        report.error(where, f"id must look like {prefix}-0001")
    elif rid in seen_ids:
        report.error(where, f"duplicate id (also {seen_ids[rid]})")
    else:
        seen_ids[rid] = where
    data = {k: v for k, v in row.items() if not k.startswith("_")}
    try:
        ticket = Ticket.model_validate(data)
    except Exception as exc:  # pydantic.ValidationError, reported with the field names
        report.error(where, f"not a valid Ticket: {exc}".replace("\n", " | "))
        return None
    if not isinstance(row.get("expected"), dict):
        report.error(where, "missing `expected` object")
        return None
    return ticket


EXPECTED_KEYS = {
    "triage": TRIAGE_EXPECTED,
    "drafts": TRIAGE_EXPECTED | {"draft", "expected_issue_url"},
    "retrieval": {"must_cite"},
    "holdout": TRIAGE_EXPECTED,
    "conversations": conversation_rows.EXPECTED_KEYS,
    "conversations_holdout": conversation_rows.EXPECTED_KEYS,
    "conversations_blind": conversation_rows.EXPECTED_KEYS,
    "intake_shapes": TRIAGE_EXPECTED,
}


def check_expected_keys(row: dict, name: str, report: Report) -> None:
    """Refuse `expected` keys that no scorer reads (usually a typo)."""
    for key in sorted(row["expected"].keys() - EXPECTED_KEYS[name]):
        report.error(row["_where"], f"unknown expected key {key!r} in {name}")


def check_labels(
    row: dict, ticket: Ticket, teams: set[str], report: Report, required: bool
) -> None:
    """Check team, kind, priority and playbook labels against the rules."""
    where, exp = row["_where"], row["expected"]
    if required:
        for key in sorted(TRIAGE_EXPECTED - exp.keys()):
            report.error(where, f"expected.{key} is missing")
    team, kind, prio, playbook = (exp.get(k) for k in ("team", "kind", "priority", "playbook"))
    if team is not None and team not in teams:
        report.error(where, f"unknown team {team!r}")
    if required and team is None:
        report.error(where, "expected.team is null")
    if kind is not None and kind not in KINDS:
        report.error(where, f"unknown kind {kind!r}")
    if required and kind is None:
        report.error(where, "expected.kind is null")
    if prio is not None and prio not in PRIORITY_ORDER:
        report.error(where, f"unknown priority {prio!r}")
    if playbook not in PLAYBOOKS:
        report.error(where, f"unknown playbook {playbook!r}")
    if prio is not None and prio != rule_priority(ticket):
        report.error(
            where,
            f"expected priority {prio!r} but the metadata rules give {rule_priority(ticket)!r}",
        )
    if ticket.priority and ticket.source != "zendesk":
        report.warn(where, "Zendesk priority set on a ticket that did not come from Zendesk")
    if ticket.priority and ticket.source == "community" and not ticket.cs_escalated:
        # The brief ranks Zendesk's field first, agent/data/policy.toml ranks the community
        # tier first: a row like this would score a policy choice, not the agent.
        report.error(where, "community ticket with a Zendesk priority: ambiguous tier, avoid")
    if "playbook" in exp:
        is_community = ticket.source == "community"
        if is_community and playbook not in ("community_question",):
            report.error(
                where, f"community ticket with playbook {playbook!r} (expected community_question)"
            )
        if playbook == "community_question" and not is_community:
            report.error(where, "community_question playbook on a non-community ticket")
        if playbook in ("two_factor_removal", "ownership_transfer"):
            if team not in (None, "growth"):
                report.error(where, f"{playbook} belongs to growth, not {team}")
            if kind not in (None, "account_request"):
                report.error(where, f"{playbook} is an account_request, not {kind}")
    notes = row.get("notes")
    if notes is not None:
        if not isinstance(notes, dict) or notes.get("language") not in LANGUAGES:
            report.error(where, "notes.language missing or unknown")
        elif not isinstance(notes.get("traits", []), list):
            report.error(where, "notes.traits must be a list")


def check_draft(row: dict, ticket: Ticket, issues: set[str] | None, report: Report) -> None:
    """Check the draft expectations of a drafts.jsonl row."""
    where, exp = row["_where"], row["expected"]
    draft = exp.get("draft")
    if not isinstance(draft, dict):
        report.error(where, "expected.draft must be an object")
        return
    for key in sorted(draft.keys() - DRAFT_KEYS):
        report.error(where, f"unknown draft key {key!r}")
    for key in ("must_contain", "must_not_contain"):
        value = draft.get(key, [])
        if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
            report.error(where, f"draft.{key} must be a list of non-empty strings")
    contain = [s.lower() for s in draft.get("must_contain", [])]
    forbid = [s.lower() for s in draft.get("must_not_contain", [])]
    for s in set(contain) & set(forbid):
        report.error(where, f"{s!r} is both required and forbidden")
    if draft.get("language") not in DRAFT_LANGUAGES:
        report.error(
            where, f"draft.language {draft.get('language')!r} not in {sorted(DRAFT_LANGUAGES)}"
        )
    if draft.get("status_after") not in STATUSES:
        report.error(where, f"draft.status_after {draft.get('status_after')!r} not allowed")
    if draft.get("must_link_issue") not in (None, True, False):
        report.error(where, "draft.must_link_issue must be true, false or null")
    if "greeting_name" not in draft:
        report.error(where, "draft.greeting_name missing (use null for a generic greeting)")
    elif draft["greeting_name"] != ticket.first_name:
        report.error(
            where,
            f"greeting_name {draft['greeting_name']!r} but the ticket's first name is "
            f"{ticket.first_name!r}",
        )
    issue_url = draft.get("expected_issue_url") or exp.get("expected_issue_url")
    if draft.get("must_link_issue") is True and not issue_url:
        report.error(where, "must_link_issue is true but no expected_issue_url")
    if issue_url and issues is not None and issue_url not in issues:
        report.error(where, f"expected_issue_url {issue_url} is not in the shared issue file")
    if exp.get("playbook") == "two_factor_removal":
        if ticket.id.lower() not in contain:
            report.error(where, "a 2FA removal draft must require the ticket id")
        if draft.get("status_after") != "pending":
            report.error(where, "a 2FA removal draft leaves the ticket pending")
    if exp.get("playbook") == "ownership_transfer" and draft.get("status_after") != "pending":
        report.error(where, "an ownership transfer draft leaves the ticket pending")
    if exp.get("playbook") == "self_hosted" and not any("self-host" in s for s in contain):
        report.error(where, "a self-hosted draft must require a pointer to the self-hosting docs")
    for url in INJECTED_URL.findall(ticket.text):
        host = "evil.example"
        if not any(host in s for s in forbid):
            report.error(where, f"ticket injects {url} but the draft does not forbid it")


def check_retrieval(row: dict, pages: dict[str, set[str] | None], report: Report) -> None:
    """Check the corpus and the cited URLs of a retrieval row."""
    where, exp = row["_where"], row["expected"]
    corpus = row.get("corpus")
    if corpus not in ("posthog-com", "project"):
        report.error(where, f"corpus must be 'posthog-com' or 'project', not {corpus!r}")
        return
    cites = exp.get("must_cite")
    if not isinstance(cites, list) or not cites or not all(isinstance(u, str) for u in cites):
        report.error(where, "expected.must_cite must be a non-empty list of URLs")
        return
    known = pages.get(corpus)
    if known is None:
        report.warn(where, f"cannot check URLs of corpus {corpus!r} (pages not available)")
        return
    for url in cites:
        if url not in known:
            report.error(where, f"cites {url}, which is not a page of the {corpus} corpus")


# --- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Validate all eight datasets; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quiet", action="store_true", help="print only problems")
    args = parser.parse_args(argv)
    report = Report()
    teams = team_slugs()
    issues = issue_urls()
    project_pages = front_matter_urls(PROJECT_CORPUS) if PROJECT_CORPUS.exists() else {}
    pages: dict[str, set[str] | None] = {
        "posthog-com": manifest_urls(),
        "project": set(project_pages) or None,
    }
    if issues is None or pages["posthog-com"] is None:
        report.warn("shared", f"{SHARED} not found: manifest and issue-URL checks skipped")

    seen_ids: dict[str, str] = {}
    files = {
        "triage": ("tri", DATASETS / "triage.jsonl"),
        "retrieval": ("ret", DATASETS / "retrieval.jsonl"),
        "drafts": ("dra", DATASETS / "drafts.jsonl"),
        "holdout": ("hol", DATASETS / "holdout.jsonl"),
        "conversations": ("con", DATASETS / "conversations.jsonl"),
        "conversations_holdout": ("coh", DATASETS / "conversations_holdout.jsonl"),
        "conversations_blind": ("cob", DATASETS / "conversations_blind.jsonl"),
        "intake_shapes": ("int", DATASETS / "intake_shapes.jsonl"),
    }
    loaded: dict[str, list[tuple[dict, Ticket]]] = {}
    for name, (prefix, path) in files.items():
        loaded[name] = []
        for row in load_jsonl(path, report):
            ticket = check_ticket(row, prefix, seen_ids, report)
            if ticket is None:
                continue
            loaded[name].append((row, ticket))
            check_expected_keys(row, name, report)
            if name in ("triage", "holdout"):
                check_labels(row, ticket, teams, report, required=True)
            elif name == "drafts":
                check_labels(row, ticket, teams, report, required=True)
                check_draft(row, ticket, issues, report)
            elif name in CONVERSATION_FILES:
                conversation_rows.check_conversation(row, ticket, teams, report)
            elif name == "intake_shapes":
                intake_shapes.check_row(row, ticket, teams, report, rule_priority(ticket))
            else:
                check_retrieval(row, pages, report)

    # Disjointness: from the classifier's training examples, and between dataset rows.
    fields = ("subject", "body")
    train = {f: TextIndex(f) for f in fields}
    if EXAMPLES.exists():
        for n, line in enumerate(EXAMPLES.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                ex = json.loads(line)
                for f in fields:
                    train[f].add(ex.get(f), f"examples.jsonl:{n} ({ex.get('id')})")
    else:
        report.warn(
            "examples", f"{EXAMPLES} not found: disjointness from training data not checked"
        )
    mine = {f: TextIndex(f) for f in fields}
    for rows in loaded.values():
        for row, _ in rows:
            texts = customer_texts(row)
            twin = intake_shapes.twin_where(row, loaded.get("intake_shapes", []))
            for f in fields:
                for text in texts[f]:
                    for index, what in ((train[f], "training example"), (mine[f], "dataset row")):
                        clash = index.clash(text, row["_where"])
                        # The same ticket in two intake shapes (before and after enrichment)
                        # is the point of the pair, not a leak.
                        if clash and not (twin and twin in clash):
                            report.error(row["_where"], f"{f} {clash} ({what})")
            for f in fields:
                for text in texts[f]:
                    mine[f].add(text, row["_where"])

    # Coverage requirements of the brief.
    tri = loaded["triage"]
    team_counts = Counter(r["expected"].get("team") for r, _ in tri)
    for team in sorted(teams):
        if team_counts[team] < 25:
            report.error("triage", f"only {team_counts[team]} rows for {team} (need 25)")
    if len(tri) < 210:
        report.error("triage", f"{len(tri)} rows (need 210)")
    for kind in KINDS:
        if not any(r["expected"].get("kind") == kind for r, _ in tri):
            report.error("triage", f"no row of kind {kind}")
    for prio in PRIORITY_ORDER:
        if not any(r["expected"].get("priority") == prio for r, _ in tri):
            report.error("triage", f"no row of priority {prio}")
    bases = Counter(priority_basis(t) for _, t in tri)
    for basis in PRIORITY_BASES:
        if not bases[basis]:
            report.error("triage", f"no row whose priority comes from {basis}")
    playbook_counts = Counter(r["expected"].get("playbook") for r, _ in tri)
    for playbook in PLAYBOOKS[1:]:
        if playbook_counts[playbook] < 6:
            report.error(
                "triage", f"only {playbook_counts[playbook]} rows with playbook {playbook} (need 6)"
            )
    non_en = sum(1 for r, _ in tri if (r.get("notes") or {}).get("language", "en") != "en")
    injections = sum(1 for r, t in tri if "injection" in (r.get("notes") or {}).get("traits", []))
    if non_en < 12:
        report.error("triage", f"only {non_en} non-English rows (need 12)")
    if injections < 6:
        report.error("triage", f"only {injections} prompt-injection rows (need 6)")
    ret = loaded["retrieval"]
    by_corpus = Counter(r.get("corpus") for r, _ in ret)
    if by_corpus["posthog-com"] < 45:
        report.error("retrieval", f"only {by_corpus['posthog-com']} posthog-com rows (need 45)")
    if by_corpus["project"] < 15:
        report.error("retrieval", f"only {by_corpus['project']} project rows (need 15)")
    if len(loaded["drafts"]) < 40:
        report.error("drafts", f"only {len(loaded['drafts'])} rows (need 40)")
    hol_teams = Counter(r["expected"].get("team") for r, _ in loaded["holdout"])
    for team in sorted(teams):
        if hol_teams[team] < 5:
            report.error("holdout", f"only {hol_teams[team]} rows for {team} (need 5)")
    intake_shapes.check_coverage([r for r, _ in loaded["intake_shapes"]], report)
    for name, floors in CONVERSATION_FLOORS.items():
        conversation_rows.check_coverage([r for r, _ in loaded[name]], report, floors, name)

    if not args.quiet:
        print_counts(loaded)
    for w in report.warnings:
        print(f"warning: {w}")
    for e in report.errors:
        print(f"ERROR: {e}")
    print(
        f"{sum(len(v) for v in loaded.values())} rows checked: "
        f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
    )
    return 1 if report.errors else 0


def print_counts(loaded: dict[str, list[tuple[dict, Ticket]]]) -> None:
    """Print per-file counts of labels, sources, languages and traits."""

    def show(title: str, counter: Counter) -> None:
        items = ", ".join(
            f"{k}: {v}" for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))
        )
        print(f"  {title:<10} {items}")

    for name, rows in loaded.items():
        print(f"{name}: {len(rows)} rows")
        exp = [r["expected"] for r, _ in rows]
        if name in CONVERSATION_FILES:
            show_conversations(rows, show, CONVERSATION_FLOORS[name])
            continue
        if name == "retrieval":
            show("corpus", Counter(r.get("corpus") for r, _ in rows))
            show("source", Counter(t.source for _, t in rows))
            show("cites", Counter(len(e.get("must_cite") or []) for e in exp))
            continue
        show("team", Counter(e.get("team") for e in exp))
        show("kind", Counter(e.get("kind") for e in exp))
        show("priority", Counter(e.get("priority") for e in exp))
        show("playbook", Counter(e.get("playbook") or "none" for e in exp))
        show("source", Counter(t.source for _, t in rows))
        show("basis", Counter(priority_basis(t) for _, t in rows))
        if name == "drafts":
            show(
                "language",
                Counter(
                    e["draft"].get("language") for e in exp if isinstance(e.get("draft"), dict)
                ),
            )
            show(
                "status",
                Counter(
                    str(e["draft"].get("status_after"))
                    for e in exp
                    if isinstance(e.get("draft"), dict)
                ),
            )
        else:
            show("language", Counter((r.get("notes") or {}).get("language", "?") for r, _ in rows))
        traits = Counter(t for r, _ in rows for t in (r.get("notes") or {}).get("traits", []))
        if traits:
            show("traits", traits)


def show_conversations(
    rows: list[tuple[dict, Ticket]],
    show: Callable[[str, Counter], None],
    floors: dict[str, int] = conversation_rows.FLOORS,
) -> None:
    """Print the counts of a conversations file: labels, turns, coverage and traits."""
    exp = [r["expected"] for r, _ in rows]
    show("stage", Counter(e.get("stage") for e in exp))
    show("status", Counter(e.get("status_after") for e in exp))
    show("team", Counter(e.get("team") for e in exp))
    show("playbook", Counter(e.get("playbook") or "none" for e in exp))
    show("language", Counter(e.get("language", "en") for e in exp))
    show("source", Counter(t.source for _, t in rows))
    show("plan", Counter(t.organization.plan or "none" for _, t in rows))
    show("turns", Counter(len(r.get("turns") or []) for r, _ in rows))
    cover = conversation_rows.coverage([r for r, _ in rows])
    show("coverage", Counter({k: cover[k] for k in floors}))
    show("traits", Counter(t for r, _ in rows for t in (r.get("notes") or {}).get("traits", [])))


if __name__ == "__main__":
    sys.exit(main())
