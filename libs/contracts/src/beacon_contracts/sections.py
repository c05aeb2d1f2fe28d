"""The section catalogue: which section titles each report type allows.

Feasibility_report and Technical_scope are copied from the frontend contract. The contract
leaves Commercial_proposal "TBD"; the list below is our default (docs/decisions.md).
"""

from __future__ import annotations

import re
from enum import StrEnum


class ReportType(StrEnum):
    FEASIBILITY_REPORT = "Feasibility_report"
    TECHNICAL_SCOPE = "Technical_scope"
    COMMERCIAL_PROPOSAL = "Commercial_proposal"


SECTIONS: dict[ReportType, tuple[str, ...]] = {
    ReportType.FEASIBILITY_REPORT: (
        "Executive Summary",
        "Project Overview",
        "Business Requirements",
        "Technical Assessment",
        "Resource Assessment",
        "Cost-Benefit Analysis",
        "Risk Assessment",
        "Alternative Solutions",
        "Timeline Feasibility",
        "Stakeholder Analysis",
        "Recommendations",
        "Appendix",
    ),
    ReportType.TECHNICAL_SCOPE: (
        "Executive Summary",
        "Company Background",
        "Current State Analysis",
        "Requirements Overview",
        "Proposed Solution",
        "Technology Stack",
        "Integration Points",
        "Security & Compliance",
        "Implementation Timeline",
        "Resource Requirements",
        "Risks & Mitigations",
        "Assumptions & Dependencies",
    ),
    ReportType.COMMERCIAL_PROPOSAL: (
        "Executive Summary",
        "Understanding of Requirements",
        "Proposed Solution",
        "Scope of Work",
        "Deliverables",
        "Implementation Timeline",
        "Pricing",
        "Payment Terms",
        "Assumptions & Exclusions",
        "Terms & Conditions",
        "Why Choose Us",
        "Next Steps",
    ),
}


def _key(title: str) -> str:
    """Fold case, spacing, hyphens, underscores and '&'/'and' so variants meet."""
    folded = title.casefold().replace("&", " and ")
    return " ".join(re.split(r"[\s_\-]+", folded)).strip()


_CANONICAL: dict[ReportType, dict[str, str]] = {
    report_type: {_key(title): title for title in titles}
    for report_type, titles in SECTIONS.items()
}


def canonical_section(report_type: ReportType, title: str) -> str | None:
    """The canonical title for a variant, or None if the type does not allow it."""
    return _CANONICAL[report_type].get(_key(title))
