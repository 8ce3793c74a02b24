"""Completeness across services and periods: how much equality data is known, and why not.

An equality lead gets extracts from many teams and providers. ``audit_paths`` reads
each file whole (through ``profile.profile_services``, so large files are streamed; many
files on two processes), and for every service x characteristic counts the records whose value is
known, unknown (blank, not stated, not known; or not collected at all) and invalid,
rates the known share green / amber / red against the council's thresholds
(``data/thresholds.yaml``) and compares it with a previous audit.

Default thresholds: green at 90% known or more, amber from 70%, red below. The measure
is the "valid and complete" idea of NHS Digital's Data Quality Maturity Index (DQMI);
the two cut-offs are judgements, explained in ``data/thresholds.yaml``: at 90% known a
group's share can be off by at most 10 percentage points even if every unknown record
belonged to it; below 70% that bound is wider than most groups an EqIA looks at.

Rules this module keeps:

* every record of a service is counted for every audited characteristic:
  ``records = known + unknown + invalid``, where a file that has no column for a
  characteristic adds its records to ``unknown`` (reason ``not_collected``);
* a file that cannot be read is never counted as empty or skipped silently: it is listed
  in ``AuditResult.failures`` with the reason, and the other files are still audited;
* outputs hold aggregate counts only, never a record: invalid values are counted by
  service, characteristic and reason (``invalid_summary``); the values themselves
  (``invalid_values``, in full, never cut short or merged) reach the workbook only when
  asked for (``eqia audit --list-invalid-values``), which marks it as personal data,
  and never the narrative;
* nothing here prints or exits.

The work is in ``collect`` (counting, the result), the words in ``narrative`` (the short
narrative for an annual report), and what each output shows in ``outputs`` (the writers
themselves are in ``eqia.render``: ``audit_xlsx``, ``audit_docx``, and the HTML
templates ``audit.html.j2`` and ``audit_narrative.html.j2``).
"""

from eqia.documents.audit.collect import (
    CSV_COLUMNS,
    GAP_COLUMNS,
    INVALID_COLUMNS,
    INVALID_SUMMARY_COLUMNS,
    NO_MAPPING,
    NOT_COLLECTED,
    PERSONAL_DATA,
    SUMMARY_COLUMNS,
    UNKNOWN_REASONS,
    WARNING_COLUMNS,
    AuditProgress,
    AuditResult,
    audit_paths,
    below,
    change_text,
    excusing,
    find_extracts,
    grid_keys,
    service_order,
    share_text,
    uncollected,
    worst_gaps,
)
from eqia.documents.audit.narrative import characteristic_name, narrative
from eqia.documents.audit.outputs import (
    CSV_FILE,
    NARRATIVE_DOCX,
    NARRATIVE_HTML,
    PAGE,
    WORKBOOK,
    csv_text,
    page_context,
    write_outputs,
)
from eqia.settings.thresholds import RAG_LABELS

__all__ = [
    "CSV_COLUMNS", "CSV_FILE", "GAP_COLUMNS", "INVALID_COLUMNS", "INVALID_SUMMARY_COLUMNS",
    "NARRATIVE_DOCX", "NARRATIVE_HTML", "NO_MAPPING", "NOT_COLLECTED", "PAGE", "PERSONAL_DATA",
    "RAG_LABELS", "SUMMARY_COLUMNS", "UNKNOWN_REASONS", "WARNING_COLUMNS", "WORKBOOK",
    "AuditProgress", "AuditResult", "audit_paths", "below", "change_text",
    "characteristic_name", "csv_text", "excusing", "find_extracts", "grid_keys", "narrative",
    "page_context", "service_order", "share_text", "uncollected", "worst_gaps",
    "write_outputs",
]
