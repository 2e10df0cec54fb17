//! # plot: benches/RESULTS.md's convergence times as one SVG
//!
//! ```text
//! plot [RESULTS.csv] [OUT.svg]        (defaults: benches/results.csv, benches/results.svg)
//! ```
//!
//! Reads the medians kept in `results.csv` (one row per scenario and
//! receiver: `section,scenario,receiver,seconds`, `#` starts a comment) and
//! draws one group of horizontal bars per scenario, one bar per receiver, on
//! a logarithmic time axis: the receivers differ by up to two orders of
//! magnitude, and a ratio reads the same anywhere on the axis. Each bar
//! carries its time and its ratio to the fastest other receiver of its
//! group, the number issue 12's goals are written in. Plain SVG, no
//! dependencies, so that the picture is rebuilt with the numbers.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// One measured median.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    section: String,
    scenario: String,
    receiver: String,
    seconds: f64,
}

/// The receivers in the order they are drawn, and their colours.
const RECEIVERS: [(&str, &str); 4] = [
    ("nodebgp", "#1b7837"),
    ("BIRD", "#2166ac"),
    ("FRR", "#b2182b"),
    ("GoBGP", "#8073ac"),
];

/// Layout, in SVG user units.
const LABEL_WIDTH: f64 = 260.0;
const PLOT_WIDTH: f64 = 560.0;
const BAR_HEIGHT: f64 = 13.0;
const GROUP_GAP: f64 = 14.0;
const TOP: f64 = 56.0;

fn parse(text: &str) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [section, scenario, receiver, seconds] = fields[..] else {
            return Err(format!(
                "line {}: expected section,scenario,receiver,seconds: {line}",
                number + 1
            ));
        };
        if section == "section" {
            continue; // the header
        }
        let seconds: f64 = seconds
            .parse()
            .ok()
            .filter(|value: &f64| value.is_finite() && *value > 0.0)
            .ok_or_else(|| format!("line {}: {seconds} is not a positive time", number + 1))?;
        if !RECEIVERS.iter().any(|(name, _)| *name == receiver) {
            return Err(format!("line {}: unknown receiver {receiver}", number + 1));
        }
        rows.push(Row {
            section: section.to_owned(),
            scenario: scenario.to_owned(),
            receiver: receiver.to_owned(),
            seconds,
        });
    }
    if rows.is_empty() {
        return Err("no rows".to_owned());
    }
    Ok(rows)
}

/// Scenarios in the order they first appear, each with its rows in the
/// receivers' drawing order.
fn groups(rows: &[Row]) -> Vec<(String, Vec<&Row>)> {
    let mut groups: Vec<(String, Vec<&Row>)> = Vec::new();
    for row in rows {
        let title = format!("{} {}", row.section, row.scenario);
        match groups.iter_mut().find(|(name, _)| *name == title) {
            Some((_, members)) => members.push(row),
            None => groups.push((title, vec![row])),
        }
    }
    for (_, members) in &mut groups {
        members.sort_by_key(|row| RECEIVERS.iter().position(|(name, _)| *name == row.receiver));
    }
    groups
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn render(rows: &[Row]) -> String {
    let groups = groups(rows);
    let lowest = rows
        .iter()
        .map(|row| row.seconds)
        .fold(f64::INFINITY, f64::min);
    let highest = rows.iter().map(|row| row.seconds).fold(0.0, f64::max);
    // Whole decades around the data.
    let first_decade = lowest.log10().floor() as i32;
    let last_decade = (highest.log10().ceil() as i32).max(first_decade + 1);
    let x = |seconds: f64| {
        LABEL_WIDTH
            + (seconds.log10() - f64::from(first_decade)) / f64::from(last_decade - first_decade)
                * PLOT_WIDTH
    };
    let bars: usize = groups.iter().map(|(_, members)| members.len()).sum();
    let height = TOP + bars as f64 * BAR_HEIGHT + groups.len() as f64 * GROUP_GAP + 40.0;
    let width = LABEL_WIDTH + PLOT_WIDTH + 150.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        svg,
        r#"<rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="14" font-weight="bold">Time to converge (median seconds, log scale; lower is better)</text>"#
    );
    // Legend.
    for (index, (name, colour)) in RECEIVERS.iter().enumerate() {
        let left = 10.0 + index as f64 * 110.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{left}" y="30" width="12" height="12" fill="{colour}"/><text x="{}" y="40">{name}</text>"#,
            left + 16.0
        );
    }
    // Decade grid lines.
    let bottom = height - 30.0;
    for decade in first_decade..=last_decade {
        let seconds = 10_f64.powi(decade);
        let at = x(seconds);
        let _ = writeln!(
            svg,
            r##"<line x1="{at:.1}" y1="{}" x2="{at:.1}" y2="{bottom}" stroke="#ccc"/><text x="{at:.1}" y="{}" text-anchor="middle">{}</text>"##,
            TOP - 6.0,
            bottom + 14.0,
            format_seconds(seconds)
        );
    }
    let mut top = TOP;
    for (title, members) in &groups {
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            LABEL_WIDTH - 8.0,
            top + members.len() as f64 * BAR_HEIGHT / 2.0 + 4.0,
            escape(title)
        );
        for row in members {
            let colour = RECEIVERS
                .iter()
                .find(|(name, _)| *name == row.receiver)
                .map_or("#999", |(_, colour)| colour);
            let fastest_other = members
                .iter()
                .filter(|other| other.receiver != row.receiver)
                .map(|other| other.seconds)
                .fold(f64::INFINITY, f64::min);
            let ratio = if fastest_other.is_finite() {
                format!(" ({:.2}×)", row.seconds / fastest_other)
            } else {
                String::new()
            };
            let end = x(row.seconds);
            let left = x(10_f64.powi(first_decade));
            let _ = writeln!(
                svg,
                r#"<rect x="{left:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{colour}"><title>{} {}: {} s</title></rect><text x="{:.1}" y="{:.1}">{}{ratio}</text>"#,
                (end - left).max(1.0),
                BAR_HEIGHT - 2.0,
                escape(&row.receiver),
                escape(title),
                row.seconds,
                end + 4.0,
                top + BAR_HEIGHT - 3.0,
                format_seconds(row.seconds)
            );
            top += BAR_HEIGHT;
        }
        top += GROUP_GAP;
    }
    let _ = writeln!(
        svg,
        r##"<text x="10" y="{:.1}" fill="#555">The ratio is to the fastest other receiver of the scenario. Numbers: benches/results.csv (from benches/RESULTS.md).</text>"##,
        height - 8.0
    );
    svg.push_str("</svg>\n");
    svg
}

fn format_seconds(seconds: f64) -> String {
    if seconds >= 10.0 {
        format!("{seconds:.0} s")
    } else if seconds >= 1.0 {
        format!("{seconds:.1} s")
    } else if seconds >= 0.01 {
        format!("{:.0} ms", seconds * 1000.0)
    } else {
        format!("{:.1} ms", seconds * 1000.0)
    }
}

fn main() -> ExitCode {
    let mut arguments = std::env::args().skip(1);
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let input = arguments
        .next()
        .map_or_else(|| folder.join("results.csv"), PathBuf::from);
    let output = arguments
        .next()
        .map_or_else(|| folder.join("results.svg"), PathBuf::from);
    let rows = match std::fs::read_to_string(&input)
        .map_err(|error| error.to_string())
        .and_then(|text| parse(&text))
    {
        Ok(rows) => rows,
        Err(error) => {
            eprintln!("plot: {}: {error}", input.display());
            return ExitCode::from(2);
        }
    };
    if let Err(error) = std::fs::write(&output, render(&rows)) {
        eprintln!("plot: {}: {error}", output.display());
        return ExitCode::FAILURE;
    }
    println!(
        "plot: {} bars in {} scenarios → {}",
        rows.len(),
        groups(&rows).len(),
        output.display()
    );
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "section,scenario,receiver,seconds
# a comment
6.1,1x1M natural,BIRD,0.571
6.1,1x1M natural,nodebgp,0.395
6.3,10x100k,nodebgp,0.621
6.1,1x1M natural,GoBGP,15.196
";

    #[test]
    fn rows_group_by_scenario_in_the_drawing_order() {
        let rows = parse(SAMPLE).unwrap();
        assert_eq!(rows.len(), 4);
        let groups = groups(&rows);
        assert_eq!(groups.len(), 2);
        let receivers: Vec<&str> = groups[0]
            .1
            .iter()
            .map(|row| row.receiver.as_str())
            .collect();
        assert_eq!(receivers, ["nodebgp", "BIRD", "GoBGP"]);
    }

    #[test]
    fn each_bar_is_drawn_with_its_time_and_ratio() {
        let svg = render(&parse(SAMPLE).unwrap());
        assert!(svg.starts_with("<svg"), "{svg}");
        assert_eq!(svg.matches("<rect x=").count(), 4 + RECEIVERS.len());
        // nodebgp 0.395 s against BIRD's 0.571 s.
        assert!(svg.contains(">395 ms (0.69×)</text>"), "{svg}");
        // Alone in its scenario: no ratio.
        assert!(svg.contains(">621 ms</text>"), "{svg}");
    }

    #[test]
    fn the_kept_results_parse() {
        let rows = parse(include_str!("results.csv")).unwrap();
        assert!(groups(&rows).len() >= 16, "{rows:?}");
    }

    #[test]
    fn bad_rows_are_refused_with_their_line() {
        assert!(parse("6.1,x,BIRD,-1").unwrap_err().contains("line 1"));
        assert!(parse("6.1,x,quagga,1")
            .unwrap_err()
            .contains("unknown receiver"));
        assert!(parse("6.1,x,BIRD").unwrap_err().contains("expected"));
        assert!(parse("# nothing\n").is_err());
    }
}
