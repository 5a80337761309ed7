"""When the LLM's reading of a ticket may outvote the offline classifier's.

The offline classifier is calibrated: its confidence means something. The LLM gives no
probability, and a weak model answers confidently at random. So:

- the two agree: two independent readers concur, at least `AGREE_CONFIDENCE`;
- they disagree and the offline classifier was sure enough (`outvote_below` or more): its
  label stays, and the rationale says what the LLM said instead;
- they disagree and the offline classifier was unsure: the LLM breaks the tie only among
  the offline classifier's own candidates (its top `CANDIDATES`), and the team (or kind)
  is marked uncertain either way: the hero decides.

The rationale always says what each engine said.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.state import Classification

#: Both readers agree: at least this confident (or the offline score, if higher).
AGREE_CONFIDENCE = 0.85
#: An unsure offline classifier's top this many labels are the ones the LLM may pick from.
CANDIDATES = 3
RATIONALE_CHARS = 200


@dataclass(frozen=True)
class Vote:
    """One field's outcome: the label, its confidence, whether the hero must decide."""

    label: str
    confidence: float
    uncertain: bool
    outvoted: bool  # the LLM's label was not taken
    why: str


def _vote(field: str, offline: str, confidence: float, llm: str, scores: dict[str, float],
          outvote_below: float) -> Vote:
    if llm == offline:
        return Vote(offline, max(confidence, AGREE_CONFIDENCE), False, False,
                    f"{field}: both {offline}")
    said = f"{field}: offline {offline} {confidence:.2f}, LLM {llm}"
    if confidence >= outvote_below:
        return Vote(offline, confidence, False, True,
                    f"{said}; kept the offline label (confident: {confidence:.2f} ≥ "
                    f"{outvote_below:.2f})")
    candidates = sorted(scores, key=scores.__getitem__, reverse=True)[:CANDIDATES]
    if llm in candidates:
        return Vote(llm, float(scores.get(llm, confidence)), True, False,
                    f"{said}; the offline classifier was unsure, took the LLM's (one of its "
                    f"top {CANDIDATES}); uncertain: the hero decides")
    return Vote(offline, confidence, True, True,
                f"{said}; the LLM's label is not among the offline top {CANDIDATES}, kept "
                "the offline label; uncertain: the hero decides")


def weigh(offline: Classification, llm: Classification, *, team_scores: dict[str, float],
          kind_scores: dict[str, float], outvote_below: float) -> tuple[Classification, str]:
    """Combine the offline classification with the LLM's reading of the same ticket.

    Returns:
        The classification to use, and why the LLM was outvoted on team or kind (empty
        when its reading was taken).

    """
    team = _vote("team", offline["team"], float(offline.get("team_confidence", 0.0)),
                 llm["team"], team_scores, outvote_below)
    kind = _vote("kind", offline["kind"], float(offline.get("kind_confidence", 0.0)),
                 llm["kind"], kind_scores, outvote_below)
    llm_why = " ".join(str(llm.get("rationale", "")).split())[:RATIONALE_CHARS]
    rationale = "; ".join(filter(None, [
        offline.get("rationale", ""), f"LLM: {llm['team']}, {llm['kind']} ({llm_why})",
        team.why, kind.why]))
    merged = Classification(
        team=team.label, team_confidence=team.confidence, kind=kind.label,
        kind_confidence=kind.confidence, rationale=rationale,
        engine="offline" if team.outvoted and kind.outvoted else "llm",
    )
    if team.uncertain:
        merged["team_uncertain"] = True
    return merged, "; ".join(v.why for v in (team, kind) if v.outvoted)
