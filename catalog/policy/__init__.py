"""The privacy policy of PRIVACY.md as named rules, each a pure function of (lineage graph,
resolved tags, policy configuration).

- ``every_column_tagged``: every column has a known category, purposes and legal basis (G1).
- ``neutral_register``: the group register derives only from neutral data (G2).
- ``national_id_purpose``: the national identity number itself appears only in outputs whose
  purpose is customer administration (G2; DIRECT lineage, not joins on it).
- ``no_unconsented_investments_in_marketing``: securities / funds data reaches marketing
  outputs only through a proven group-sharing consent gate (G3).
- ``no_web_behaviour_without_cookie_consent``: the same for web behaviour and the
  marketing-cookies gate (G3).
- ``purpose_limitation``: risk and legal-obligation data never reaches an output with a
  purpose outside the purpose-bound ones (marketing, statistics, model development, the
  register) (G4).
- ``objections_honoured``: marketing, statistics and model-development outputs are filtered by
  the objections log, scope by scope (G5).
- ``fail_closed``: what the lineage cannot see is a violation (G6; SQL that does not parse
  stops the check before it: exit 2).

``evaluate(graph, tags, config)`` runs them and returns a ``PolicyResult``;
``restricted_columns`` and ``objection_scopes`` tell the row checks of guarantee 7 which
columns must be null without consent and which objections each output must honour;
``proven_gates`` says how each declared gate is proven (or why it is not).

Layout: one module per rule (above); ``evaluation`` (the rules by name, ``evaluate``),
``facts`` (``restricted_columns``, ``objection_scopes``, ``proven_gates``), ``result``
(``Violation``, ``PolicyResult``, ``PolicyError``), ``context`` (what the rules read, indexed
once per evaluation), ``flow`` (restrictions propagated through the graph), ``consent_gates``
and ``gate_predicate`` (the proof of a consent gate), ``config`` (``catalog/policy.yml``) and
``check`` (``catalog check``). This package exports the public names.
"""

from catalog.policy.config import (
    GateConfig,
    ObjectionRequirement,
    PolicyConfig,
    PolicyConfigError,
    load_policy_config,
    parse_policy_config,
)
from catalog.policy.evaluation import RULES, evaluate
from catalog.policy.facts import objection_scopes, proven_gates, restricted_columns
from catalog.policy.result import PolicyError, PolicyResult, Violation

__all__ = [
    "RULES",
    "GateConfig",
    "ObjectionRequirement",
    "PolicyConfig",
    "PolicyConfigError",
    "PolicyError",
    "PolicyResult",
    "Violation",
    "evaluate",
    "load_policy_config",
    "objection_scopes",
    "parse_policy_config",
    "proven_gates",
    "restricted_columns",
]
