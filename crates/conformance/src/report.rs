//! Results and their formats: a table for people, JSON for tools, JUnit XML
//! for CI systems.

use std::time::Duration;

use crate::context::Outcome;
use crate::wire;

/// One scenario's result.
#[derive(Debug, Clone)]
pub struct Record {
    /// The scenario id.
    pub id: &'static str,
    /// The RFC section graded.
    pub rfc: &'static str,
    /// What the RFC asks for.
    pub expected: String,
    /// The verdict and what was observed.
    pub outcome: Outcome,
    /// Notes on how the runner got there (waits, --between).
    pub notes: Vec<String>,
    /// The stimulus's octets, kept for failures.
    pub sent: Vec<u8>,
    /// How long the scenario took.
    pub duration: Duration,
}

/// Counts by verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Not applicable.
    pub not_applicable: usize,
    /// Could not be carried out.
    pub error: usize,
}

impl Summary {
    /// Counts `records`.
    pub fn of(records: &[Record]) -> Summary {
        let mut summary = Summary::default();
        for record in records {
            match record.outcome {
                Outcome::Pass(_) => summary.pass += 1,
                Outcome::Fail(_) => summary.fail += 1,
                Outcome::NotApplicable(_) => summary.not_applicable += 1,
                Outcome::Error(_) => summary.error += 1,
            }
        }
        summary
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{} passed, {} failed, {} not applicable, {} not run",
            self.pass, self.fail, self.not_applicable, self.error
        )
    }
}

fn observed_with_notes(record: &Record) -> String {
    let mut text = record.outcome.observed().to_string();
    if !record.notes.is_empty() {
        text.push_str(&format!(" [{}]", record.notes.join("; ")));
    }
    text
}

/// The table: one line per scenario, then the failures' octets.
pub fn table(records: &[Record]) -> String {
    let width = records
        .iter()
        .map(|record| record.id.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let rfc_width = records
        .iter()
        .map(|record| record.rfc.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!(
        "{:<width$}  {:<6}  {:<rfc_width$}  OBSERVED\n",
        "SCENARIO", "RESULT", "RFC"
    );
    for record in records {
        out.push_str(&format!(
            "{:<width$}  {:<6}  {:<rfc_width$}  {}\n",
            record.id,
            record.outcome.verdict().to_uppercase(),
            record.rfc,
            observed_with_notes(record)
        ));
    }
    let failures: Vec<&Record> = records
        .iter()
        .filter(|record| matches!(record.outcome, Outcome::Fail(_)))
        .collect();
    if !failures.is_empty() {
        out.push_str("\nFailures:\n");
        for record in failures {
            out.push_str(&format!(
                "  {} ({}): expected {}; observed {}\n    sent {}\n",
                record.id,
                record.rfc,
                record.expected,
                record.outcome.observed(),
                if record.sent.is_empty() {
                    "(nothing)".into()
                } else {
                    wire::hex(&record.sent)
                }
            ));
        }
    }
    out.push_str(&format!("\n{}\n", Summary::of(records)));
    out
}

/// JSON: `{"summary": {...}, "scenarios": [...]}`.
pub fn json(records: &[Record]) -> serde_json::Value {
    let summary = Summary::of(records);
    serde_json::json!({
        "summary": {
            "pass": summary.pass,
            "fail": summary.fail,
            "not_applicable": summary.not_applicable,
            "error": summary.error,
        },
        "scenarios": records.iter().map(|record| serde_json::json!({
            "id": record.id,
            "rfc": record.rfc,
            "expected": record.expected,
            "result": record.outcome.verdict(),
            "observed": record.outcome.observed(),
            "notes": record.notes,
            "sent": wire::hex(&record.sent),
            "seconds": record.duration.as_secs_f64(),
        })).collect::<Vec<_>>(),
    })
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: one testcase per scenario; failures carry the observation
/// and the octets sent, not-applicable ones are skipped.
pub fn junit(records: &[Record]) -> String {
    let summary = Summary::of(records);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"bgp-conformance\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
        records.len(),
        summary.fail,
        summary.error,
        summary.not_applicable
    );
    for record in records {
        out.push_str(&format!(
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">",
            xml_escape(record.rfc),
            xml_escape(record.id),
            record.duration.as_secs_f64()
        ));
        match &record.outcome {
            Outcome::Pass(_) => {}
            Outcome::Fail(observed) => out.push_str(&format!(
                "<failure message=\"{}\">expected {}; sent {}</failure>",
                xml_escape(observed),
                xml_escape(&record.expected),
                wire::hex(&record.sent)
            )),
            Outcome::NotApplicable(why) => {
                out.push_str(&format!("<skipped message=\"{}\"/>", xml_escape(why)))
            }
            Outcome::Error(why) => {
                out.push_str(&format!("<error message=\"{}\"/>", xml_escape(why)))
            }
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("</testsuite>\n");
    out
}
