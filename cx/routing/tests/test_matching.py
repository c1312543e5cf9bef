"""The pure routing decisions, without a database: rule matching, eligibility and the order agents are tried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cx.routing.matching import (
    LOAD_BALANCED,
    MANUAL,
    ROUND_ROBIN,
    Candidate,
    RuleSpec,
    TicketFacts,
    candidate_order,
    eligible,
    first_matching_rule,
    language_matches,
    normalize_word,
    rule_matches,
)

TICKET = TicketFacts(channel="email", priority="high", language="es-MX", tags=frozenset({"billing", "vip"}),
                     organization_id=7)


def _ids(candidates: list[Candidate]) -> list[int]:
    return [c.user_id for c in candidates]


def test_a_rule_without_conditions_matches_every_ticket():
    assert rule_matches(RuleSpec(rule_id=1, team_id=1), TICKET)


def test_each_condition_must_hold_and_tags_need_one_in_common():
    assert rule_matches(RuleSpec(rule_id=1, team_id=1, channels=frozenset({"email", "chat"}),
                                 priorities=frozenset({"high"}), tags=frozenset({"billing", "refund"}),
                                 languages=("es",), organization_ids=frozenset({7})), TICKET)
    assert not rule_matches(RuleSpec(rule_id=1, team_id=1, channels=frozenset({"chat"})), TICKET)
    assert not rule_matches(RuleSpec(rule_id=1, team_id=1, priorities=frozenset({"low"})), TICKET)
    assert not rule_matches(RuleSpec(rule_id=1, team_id=1, tags=frozenset({"refund"})), TICKET)
    assert not rule_matches(RuleSpec(rule_id=1, team_id=1, languages=("fr",)), TICKET)
    assert not rule_matches(RuleSpec(rule_id=1, team_id=1, organization_ids=frozenset({8})), TICKET)
    no_language = TicketFacts(channel="email", priority="high")
    assert not rule_matches(RuleSpec(rule_id=1, team_id=1, languages=("es",)), no_language)


def test_language_codes_match_by_subtag_prefix_only():
    assert language_matches("es-MX", ["es"])
    assert language_matches("es", ["es-mx"])
    assert language_matches("pt_BR", ["pt-br"])
    assert not language_matches("es-mx", ["es-ar"])
    assert not language_matches("est", ["es"])


def test_skills_and_tags_share_one_spelling():
    assert normalize_word("  Premium  Support ") == "premium-support"


def test_the_first_matching_rule_wins_and_a_ticket_keeps_its_team():
    billing = RuleSpec(rule_id=1, team_id=10, tags=frozenset({"billing"}))
    catch_all = RuleSpec(rule_id=2, team_id=20)
    assert first_matching_rule([billing, catch_all], TICKET) == billing
    with_team = TicketFacts(channel="email", priority="high", tags=frozenset({"billing"}), team_id=20)
    assert first_matching_rule([billing, catch_all], with_team) == catch_all
    orphan = TicketFacts(channel="email", priority="high", team_id=30)
    assert first_matching_rule([billing, catch_all], orphan) is None


def test_eligible_agents_have_room_every_required_skill_and_the_language_when_asked():
    rule = RuleSpec(rule_id=1, team_id=1, required_skills=frozenset({"billing"}), require_agent_language=True)
    agents = [
        Candidate(user_id=1, open_tickets=0, capacity=5, skills=frozenset({"billing"}), languages=("es",)),
        Candidate(user_id=2, open_tickets=5, capacity=5, skills=frozenset({"billing"}), languages=("es",)),
        Candidate(user_id=3, open_tickets=0, capacity=5, skills=frozenset(), languages=("es",)),
        Candidate(user_id=4, open_tickets=0, capacity=5, skills=frozenset({"billing", "x"}), languages=("en",)),
        Candidate(user_id=5, open_tickets=0, capacity=0, skills=frozenset({"billing"}), languages=("es",)),
    ]
    assert _ids(eligible(agents, rule=rule, ticket=TICKET)) == [1]
    no_language_needed = RuleSpec(rule_id=1, team_id=1, required_skills=frozenset({"billing"}))
    assert _ids(eligible(agents, rule=no_language_needed, ticket=TICKET)) == [1, 4]


def test_round_robin_starts_after_the_last_agent_and_wraps_around():
    agents = [Candidate(user_id=i, open_tickets=0, capacity=5) for i in (30, 10, 20)]
    assert _ids(candidate_order(agents, method=ROUND_ROBIN, last_user_id=None)) == [10, 20, 30]
    assert _ids(candidate_order(agents, method=ROUND_ROBIN, last_user_id=10)) == [20, 30, 10]
    assert _ids(candidate_order(agents, method=ROUND_ROBIN, last_user_id=30)) == [10, 20, 30]
    # The last agent went offline (not a candidate any more): continue with the next id after theirs.
    assert _ids(candidate_order(agents, method=ROUND_ROBIN, last_user_id=25)) == [30, 10, 20]


def test_load_balanced_prefers_fewest_open_tickets_then_longest_since_last_routed():
    now = datetime(2025, 3, 1, 12, tzinfo=UTC)
    agents = [
        Candidate(user_id=1, open_tickets=3, capacity=9, last_routed_at=now - timedelta(hours=5)),
        Candidate(user_id=2, open_tickets=1, capacity=9, last_routed_at=now),
        Candidate(user_id=3, open_tickets=1, capacity=9, last_routed_at=now - timedelta(hours=1)),
        Candidate(user_id=4, open_tickets=1, capacity=9, last_routed_at=None),
    ]
    assert _ids(candidate_order(agents, method=LOAD_BALANCED, last_user_id=2)) == [4, 3, 2, 1]


def test_manual_rules_try_nobody():
    agents = [Candidate(user_id=1, open_tickets=0, capacity=5)]
    assert candidate_order(agents, method=MANUAL, last_user_id=None) == []
