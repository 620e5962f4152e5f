//! The HTML report of `prescient simulate --report`: one self-contained page (inline CSS and
//! SVG, no script, nothing fetched) with the scenario, every policy's metrics, the cost against
//! unserved demand frontier, and the time series of what each policy provisioned.
//!
//! The page is a pure function of the scenario and the runs, so the same replay always writes
//! the same bytes (only the decision times in the table come from a clock, upstream).

use std::fmt::{self, Write as _};
use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use prescient::Severity;
use prescient::report::{escape_html, format_utc};
use prescient_sim::{Run, Scenario};

/// The most x-points of one time-series chart: about two per pixel of the chart's width, so
/// bucketing loses nothing visible and a chart stays near 100 kB however long the trace.
const MAX_POINTS: usize = 2000;

/// The length of the zoomed window, in days.
const ZOOM_DAYS: usize = 2;

/// The length of the closer zoomed window inside it, in hours.
const ZOOM_HOURS: usize = 2;

/// The size of a time-series chart and of the frontier's scatter chart, in SVG pixels (the page
/// scales them to its width).
const SERIES_SIZE: (u32, u32) = (1000, 300);
const SCATTER_SIZE: (u32, u32) = (640, 400);

/// Colours of the frontier's points and curves, in order of appearance.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// The time series' colours (the legend above the charts names them).
const DEMAND: RGBColor = RGBColor(0x22, 0x22, 0x22);
const PROVISIONED: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const READY: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const BAND: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
const SHORTFALL: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const UP: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const DOWN: RGBColor = RGBColor(0x94, 0x67, 0xbd);
const MEDIUM: RGBColor = RGBColor(0xff, 0x9f, 0x1c);
const HIGH: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const GRID: RGBColor = RGBColor(0xe6, 0xe6, 0xe6);
const AXIS: RGBColor = RGBColor(0x99, 0x99, 0x99);
const LABEL: RGBColor = RGBColor(0x44, 0x44, 0x44);

/// A chart of the page: time or a linear x against a linear y, drawn by plotters into a string.
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Half the width of a `YYYY-MM-DD HH:MM` axis label, in pixels (16 characters of 11 px text).
const DATE_HALF_WIDTH: i32 = 50;

const CSS: &str = "\
body{font:14px/1.45 system-ui,sans-serif;color:#222;max-width:1080px;margin:1.5em auto;padding:0 1em}\
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.8em}h3{font-size:1em;margin:1.4em 0 .2em}\
table{border-collapse:collapse;font-variant-numeric:tabular-nums}\
.wide{overflow-x:auto}\
th,td{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:right}td{white-space:nowrap}\
th{vertical-align:bottom}th:first-child,td:first-child{text-align:left}\
dl{display:grid;grid-template-columns:max-content auto;gap:.1em 1em}dt{color:#666}dd{margin:0}\
.note{color:#555}.key{margin-right:1.2em;white-space:nowrap}\
.key i{display:inline-block;width:1.6em;height:.7em;margin-right:.4em;vertical-align:middle}\
svg{display:block;width:100%;height:auto}.scatter{max-width:720px}";

/// Writes `report.html` into `dir` (created if missing) and returns its path.
pub(crate) fn write(
    dir: &Path,
    scenario: &Scenario,
    runs: &[(String, Run)],
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("report.html");
    std::fs::write(&path, render(scenario, runs))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// The whole page.
fn render(scenario: &Scenario, runs: &[(String, Run)]) -> String {
    let mut page = String::with_capacity(1 << 20);
    let _ = writeln!(
        page,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>prescient simulate: {}</title><style>{CSS}</style></head><body>",
        escape_html(scenario.name())
    );
    header(&mut page, scenario);
    metrics_table(&mut page, runs);
    frontier(&mut page, runs);
    time_series(&mut page, scenario, runs);
    page.push_str("</body></html>\n");
    page
}

fn header(page: &mut String, scenario: &Scenario) {
    let p = scenario.params();
    let c = scenario.capacity();
    let last = scenario.len().saturating_sub(1);
    let _ = writeln!(
        page,
        "<h1>Scaling simulation: {name}</h1>\n<dl>\
         <dt>trace</dt><dd>{name}</dd>\
         <dt>steps</dt><dd>{len} of {step} s, {start} to {end} UTC</dd>\
         <dt>measured</dt><dd>{days:.1} days, from {from} UTC</dd>\
         <dt>warm-up</dt><dd>{warm_days:.1} days ({warm} steps, history only)</dd>\
         <dt>capacity per worker</dt><dd>{per:.4} demand units per second</dd>\
         <dt>bounds</dt><dd>{min} to {max} workers</dd>\
         <dt>start-up delay</dt><dd>{delay} s</dd></dl>",
        name = escape_html(scenario.name()),
        len = scenario.len(),
        step = p.step_secs,
        start = format_utc(scenario.time(0).as_secs_f64()),
        end = format_utc(scenario.time(last).as_secs_f64()),
        days = scenario.measured_days(),
        from = format_utc(scenario.time(scenario.warmup_steps()).as_secs_f64()),
        warm_days = scenario.warmup_steps() as f64 * p.step_secs / 86_400.0,
        warm = scenario.warmup_steps(),
        per = c.per_worker,
        min = c.min,
        max = c.max,
        delay = p.startup_delay_secs,
    );
}

/// A policy's name as the page shows it: the requested name, and the policy's own when they
/// differ (`hpa` is `hpa@0.7`).
fn display_name(name: &str, run: &Run) -> String {
    if run.policy == name {
        escape_html(name)
    } else {
        format!(
            "{} <span class=\"note\">({})</span>",
            escape_html(name),
            escape_html(&run.policy)
        )
    }
}

fn metrics_table(page: &mut String, runs: &[(String, Run)]) {
    let forecasts = runs
        .iter()
        .any(|(_, r)| r.metrics.under_forecast_pct.is_some());
    page.push_str(
        "<h2>Metrics</h2>\n<div class=\"wide\"><table><thead><tr><th>policy</th><th>cost ratio</th>\
         <th>worker-hours</th><th>unserved %</th><th>violation %</th>\
         <th>over-provisioning %</th><th>actions/day</th><th>flips/day</th>\
         <th>decision p50 µs</th><th>decision p99 µs</th>",
    );
    if forecasts {
        page.push_str("<th>under-forecast %</th>");
    }
    page.push_str("</tr></thead><tbody>\n");
    for (name, run) in runs {
        let m = &run.metrics;
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            display_name(name, run),
            Num(m.cost_ratio, 3),
            Num(m.worker_hours, 1),
            Num(m.unserved_pct, 3),
            Num(m.violation_time_pct, 2),
            Num(m.overprovision_pct, 1),
            Num(m.actions_per_day, 1),
            Num(m.flips_per_day, 1),
            Num(m.decision_p50_us, 1),
            Num(m.decision_p99_us, 1),
        );
        if forecasts {
            match m.under_forecast_pct {
                Some(u) => {
                    let _ = write!(page, "<td>{}</td>", Num(u, 2));
                }
                None => page.push_str("<td>–</td>"),
            }
        }
        page.push_str("</tr>\n");
    }
    page.push_str(
        "</tbody></table></div>\n<p class=\"note\">Cost ratio: worker-hours over the oracle's. \
         Unserved: demand above what the ready workers serve. Violation: the share of steps \
         with unserved demand. Over-provisioning: workers above the need. Flips: changes of \
         scaling direction. Decision times are wall-clock and vary between runs.</p>\n",
    );
}

/// Whether `name` is the static policy, whose cost is far off the frontier's scale.
fn is_static(name: &str) -> bool {
    name == "static"
}

/// A labelled point of the frontier.
struct Point {
    label: String,
    x: f64,
    y: f64,
}

/// A family of runs that differ only in a setting (`hpa@U`), joined in the setting's order.
struct Curve {
    base: String,
    points: Vec<(f64, Point)>,
}

fn frontier(page: &mut String, runs: &[(String, Run)]) {
    page.push_str("<h2>Cost against unserved demand</h2>\n");
    let mut points = Vec::new();
    let mut curves: Vec<Curve> = Vec::new();
    let mut off_scale = Vec::new();
    for (name, run) in runs {
        let point = Point {
            label: name.clone(),
            x: run.metrics.unserved_pct,
            y: run.metrics.cost_ratio,
        };
        if is_static(name) || !(point.x.is_finite() && point.y.is_finite()) {
            off_scale.push(point);
            continue;
        }
        let setting = name
            .split_once('@')
            .and_then(|(base, u)| Some((base, u.parse::<f64>().ok()?)));
        match setting {
            Some((base, u)) if u.is_finite() => {
                let point = Point {
                    label: format!("{u}"),
                    ..point
                };
                match curves.iter_mut().find(|c| c.base == base) {
                    Some(curve) => curve.points.push((u, point)),
                    None => curves.push(Curve {
                        base: base.to_owned(),
                        points: vec![(u, point)],
                    }),
                }
            }
            _ => points.push(point),
        }
    }
    for curve in &mut curves {
        curve.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    page.push_str("<div class=\"scatter\">");
    page.push_str(&scatter(&points, &curves));
    page.push_str("</div>\n");
    let mut note = String::from(
        "<p class=\"note\">x: the share of demand left unserved; y: worker-hours over the \
         oracle's. Lower left is better.",
    );
    if !curves.is_empty() {
        note.push_str(" Curves join the same policy at several target utilisations (labels).");
    }
    for p in &off_scale {
        let _ = write!(
            note,
            " Not drawn: {} (cost ratio {}, unserved {} %).",
            escape_html(&p.label),
            Num(p.y, 3),
            Num(p.x, 3)
        );
    }
    note.push_str("</p>\n");
    page.push_str(&note);
}

/// The frontier's scatter chart: labelled points and labelled curves.
fn scatter(points: &[Point], curves: &[Curve]) -> String {
    let all = || {
        points
            .iter()
            .chain(curves.iter().flat_map(|c| c.points.iter().map(|(_, p)| p)))
    };
    let x_max = all().map(|p| p.x).fold(0.0, f64::max);
    let (y_min, y_max) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        (lo.min(p.y), hi.max(p.y))
    });
    // Pad so that labels at the edges stay inside; the y axis starts near the lowest cost
    // rather than at 0, where nothing can be (the oracle is 1).
    let x_hi = if x_max > 0.0 { x_max * 1.12 } else { 1.0 };
    let pad = if y_max > y_min {
        0.1 * (y_max - y_min)
    } else {
        0.5
    };
    let x = scale(0.0, x_hi);
    let y = scale((y_min - pad).max(0.0), y_max + pad);
    chart_or_note(draw_scatter(points, curves, x, y))
}

fn draw_scatter(
    points: &[Point],
    curves: &[Curve],
    x: (f64, f64),
    y: (f64, f64),
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SCATTER_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(x.0..x.1, y.0..y.1)
            .map_err(err)?;
        let fmt = |v: &f64| short_number(*v);
        chart
            .configure_mesh()
            .x_desc("unserved demand %")
            .y_desc("cost ratio")
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&fmt)
            .y_label_formatter(&fmt)
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .label_style(label_font())
            .axis_desc_style(label_font())
            .draw()
            .map_err(err)?;
        let width = i32::try_from(SCATTER_SIZE.0).unwrap_or(i32::MAX);
        let height = i32::try_from(SCATTER_SIZE.1).unwrap_or(i32::MAX);
        // A label `offset` pixels from its point, kept inside the picture.
        let label = |chart: &mut Chart<'_, '_>,
                     p: &Point,
                     text: &str,
                     colour: RGBColor,
                     offset: (i32, i32)|
         -> Result<(), String> {
            let (px, py) = chart.backend_coord(&(p.x, p.y));
            let lx = (px + offset.0).min(width - 60);
            let ly = (py + offset.1).clamp(12, height - 4);
            let style = label_font()
                .color(&colour)
                .pos(Pos::new(HPos::Left, VPos::Bottom));
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((p.x, p.y))
                        + Text::new(text.to_owned(), (lx - px, ly - py), style),
                ))
                .map_err(err)?;
            Ok(())
        };
        // plotters' pixel arithmetic overflows on points far outside the range.
        let inside = |p: &Point| Point {
            label: p.label.clone(),
            x: p.x.clamp(x.0, x.1),
            y: p.y.clamp(y.0, y.1),
        };
        let points: Vec<Point> = points.iter().map(inside).collect();
        let curves: Vec<Curve> = curves
            .iter()
            .map(|c| Curve {
                base: c.base.clone(),
                points: c.points.iter().map(|(u, p)| (*u, inside(p))).collect(),
            })
            .collect();
        for (j, curve) in curves.iter().enumerate() {
            let colour = PALETTE[(points.len() + j) % PALETTE.len()];
            let xy: Vec<(f64, f64)> = curve.points.iter().map(|(_, p)| (p.x, p.y)).collect();
            chart
                .draw_series(LineSeries::new(xy, colour.stroke_width(2)))
                .map_err(err)?;
            for (_, p) in &curve.points {
                chart
                    .draw_series(std::iter::once(Circle::new((p.x, p.y), 4, colour.filled())))
                    .map_err(err)?;
                label(&mut chart, p, &p.label, colour, (6, 14))?;
            }
            if let Some((_, last)) = curve.points.last() {
                label(
                    &mut chart,
                    last,
                    &format!("{}@U", curve.base),
                    colour,
                    (8, -8),
                )?;
            }
        }
        for (j, p) in points.iter().enumerate() {
            let colour = PALETTE[j % PALETTE.len()];
            chart
                .draw_series(std::iter::once(Circle::new((p.x, p.y), 4, colour.filled())))
                .map_err(err)?;
            label(&mut chart, p, &p.label, colour, (7, -6))?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// The measured steps' time series: one chart per policy, then the zoomed window.
fn time_series(page: &mut String, scenario: &Scenario, runs: &[(String, Run)]) {
    let measured = scenario.warmup_steps().min(scenario.len())..scenario.len();
    page.push_str("<h2>Time series</h2>\n");
    legend(page);
    let _ = writeln!(
        page,
        "<p class=\"note\">Over the measured period, in buckets of up to {} (a bucket shows the highest \
         demand, provisioned count and forecast, and the lowest ready count, so peaks and \
         shortfalls stay visible). The static policy is not drawn: it holds the peak need \
         throughout.</p>",
        bucket_span(scenario, measured.len())
    );
    // (policy, name as requested) of the charts drawn so far.
    let mut drawn: Vec<(&str, &str)> = Vec::new();
    for (name, run) in runs {
        if is_static(name) {
            continue;
        }
        // `hpa` and `hpa@0.7` are the same policy; one chart is enough.
        if let Some((_, first)) = drawn.iter().find(|(p, _)| *p == run.policy) {
            let _ = writeln!(
                page,
                "<h3>{}</h3><p class=\"note\">The same policy as {}; not drawn again.</p>",
                escape_html(name),
                escape_html(first)
            );
            continue;
        }
        drawn.push((&run.policy, name));
        let _ = writeln!(
            page,
            "<h3>{}: unserved {} %, cost ratio {}</h3>",
            display_name(name, run),
            Num(run.metrics.unserved_pct, 3),
            Num(run.metrics.cost_ratio, 3)
        );
        page.push_str(&series_chart(scenario, run, measured.clone()));
        page.push('\n');
    }
    zoom(page, scenario, runs);
}

/// The zoomed charts: the [`ZOOM_DAYS`] days where `hpa` (or the first policy that can leave
/// demand unserved) left the most demand unserved, then the [`ZOOM_HOURS`] hours of those where
/// it left the most, each for it and for `prescient`.
fn zoom(page: &mut String, scenario: &Scenario, runs: &[(String, Run)]) {
    let Some((name, run)) = runs
        .iter()
        .find(|(n, _)| n == "hpa")
        .or_else(|| runs.iter().find(|(n, _)| !is_static(n) && n != "oracle"))
        .or_else(|| runs.first())
    else {
        return;
    };
    let mut zoomed = vec![(name.as_str(), run)];
    if let Some((p, r)) = runs.iter().find(|(n, _)| n == "prescient" && n != name) {
        zoomed.push((p, r));
    }
    let measured = scenario.warmup_steps().min(scenario.len())..scenario.len();
    let days = worst_window(scenario, run, measured, ZOOM_DAYS * scenario.day_steps());
    zoom_section(
        page,
        scenario,
        &zoomed,
        days.clone(),
        &format!("Zoom: the {ZOOM_DAYS} days"),
    );
    // Two days still hold a thousand decisions or more; two hours show them one by one.
    let hour_steps = (3600.0 / scenario.params().step_secs).round() as usize;
    let hours = worst_window(scenario, run, days.clone(), ZOOM_HOURS * hour_steps);
    if hours.len() < days.len() {
        zoom_section(
            page,
            scenario,
            &zoomed,
            hours,
            &format!("Closer: the {ZOOM_HOURS} hours of those"),
        );
    }
}

/// The charts of `runs` over `window`, the steps where the first of them left the most demand
/// unserved; `what` names the window in the heading.
fn zoom_section(
    page: &mut String,
    scenario: &Scenario,
    runs: &[(&str, &Run)],
    window: Range<usize>,
    what: &str,
) {
    let Some((name, run)) = runs.first() else {
        return;
    };
    let (unserved, total) = unserved_in(scenario, run, window.clone());
    let _ = writeln!(
        page,
        "<h2>{what} in which {} left the most demand unserved</h2>\n<p class=\"note\">{} to {} \
         UTC: {} % of that window's demand unserved; buckets of up to {}.</p>",
        escape_html(name),
        format_utc(scenario.time(window.start).as_secs_f64()),
        format_utc(scenario.time(window.end).as_secs_f64()),
        Num(100.0 * ratio(unserved, total), 2),
        bucket_span(scenario, window.len())
    );
    for (name, run) in runs {
        let (unserved, total) = unserved_in(scenario, run, window.clone());
        let _ = writeln!(
            page,
            "<h3>{}: unserved {} % in this window</h3>",
            display_name(name, run),
            Num(100.0 * ratio(unserved, total), 2)
        );
        page.push_str(&series_chart(scenario, run, window.clone()));
        page.push('\n');
    }
}

fn legend(page: &mut String) {
    let keys = [
        ("#333", "demand (workers at 100 % utilisation)"),
        ("#1f77b4", "provisioned (incl. starting)"),
        ("#2ca02c", "ready"),
        (
            "rgba(255,127,14,.3)",
            "forecast: peak point to planned-for upper end",
        ),
        (
            "rgba(214,39,40,.45)",
            "unserved: demand above the ready workers",
        ),
        ("#ff9f1c", "anomaly: medium"),
        ("#d62728", "anomaly: high"),
        (
            "#9467bd",
            "ticks below: scale-up (upper row), scale-down (lower row)",
        ),
    ];
    page.push_str("<p>");
    for (colour, label) in keys {
        let _ = write!(
            page,
            "<span class=\"key\"><i style=\"background:{colour}\"></i>{label}</span>"
        );
    }
    page.push_str("</p>\n");
}

/// How long one bucket of a chart over `steps` steps is, for the notes.
fn bucket_span(scenario: &Scenario, steps: usize) -> String {
    let per = steps.div_ceil(MAX_POINTS).max(1);
    let secs = per as f64 * scenario.params().step_secs;
    if secs < 120.0 {
        format!("{secs} s")
    } else {
        format!("{:.1} min", secs / 60.0)
    }
}

/// The demand left unserved by `run` over `steps` and the demand, summed.
fn unserved_in(scenario: &Scenario, run: &Run, steps: Range<usize>) -> (f64, f64) {
    let (mut unserved, mut total) = (0.0, 0.0);
    for k in steps {
        let d = scenario.demand().get(k).copied().unwrap_or(0.0);
        if d.is_finite() {
            total += d;
            unserved += unserved_at(scenario, run, k);
        }
    }
    (unserved, total)
}

/// The demand `run` left unserved at step `k` (0 where the run has no record of it).
fn unserved_at(scenario: &Scenario, run: &Run, k: usize) -> f64 {
    let d = scenario.demand().get(k).copied().unwrap_or(0.0);
    let Some(ready) = k
        .checked_sub(scenario.first_step())
        .and_then(|i| run.timeline.ready.get(i))
    else {
        return 0.0;
    };
    let u = d - f64::from(*ready) * scenario.capacity().per_worker;
    if u.is_finite() { u.max(0.0) } else { 0.0 }
}

/// The `len` consecutive steps of `within` where `run` left the most demand unserved (the
/// earliest of equals), or all of `within` when it is shorter.
fn worst_window(scenario: &Scenario, run: &Run, within: Range<usize>, len: usize) -> Range<usize> {
    let len = len.min(within.len());
    // Prefix sums give every window's sum in one subtraction.
    let mut prefix = Vec::with_capacity(within.len() + 1);
    prefix.push(0.0);
    let mut sum = 0.0;
    for k in within.clone() {
        sum += unserved_at(scenario, run, k);
        prefix.push(sum);
    }
    let mut best = (0, f64::NEG_INFINITY);
    for (s, (a, b)) in prefix.iter().zip(&prefix[len..]).enumerate() {
        if b - a > best.1 {
            best = (s, b - a);
        }
    }
    within.start + best.0..within.start + best.0 + len
}

/// One bucket of a time-series chart, in workers.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    demand: Option<f64>,
    provisioned: Option<f64>,
    ready: Option<f64>,
    forecast: Option<(f64, f64)>,
    /// From the lowest ready count to the highest demand of the steps with unserved demand.
    shortfall: Option<(f64, f64)>,
    severity: Severity,
    up: bool,
    down: bool,
}

/// Splits `steps` into at most [`MAX_POINTS`] consecutive buckets of near-equal length.
fn buckets(steps: Range<usize>) -> Vec<Range<usize>> {
    let n = steps.len();
    let count = n.min(MAX_POINTS);
    (0..count)
        .map(|b| steps.start + b * n / count..steps.start + (b + 1) * n / count)
        .collect()
}

fn max_opt(a: Option<f64>, b: f64) -> Option<f64> {
    if !b.is_finite() {
        return a;
    }
    Some(a.map_or(b, |a| a.max(b)))
}

fn min_opt(a: Option<f64>, b: f64) -> Option<f64> {
    if !b.is_finite() {
        return a;
    }
    Some(a.map_or(b, |a| a.min(b)))
}

/// Reduces the steps of one bucket: the highest demand, provisioned count and forecast, the
/// lowest ready count (so that a bucket never hides a shortfall), the worst anomaly, and
/// whether the provisioned count went up or down in it.
fn reduce(scenario: &Scenario, run: &Run, steps: Range<usize>) -> Bucket {
    let t = &run.timeline;
    let c = scenario.capacity().per_worker;
    let mut b = Bucket::default();
    for k in steps {
        let d = scenario.demand().get(k).map_or(f64::NAN, |d| d / c);
        b.demand = max_opt(b.demand, d);
        let Some(i) = k.checked_sub(scenario.first_step()) else {
            continue;
        };
        if let Some(&p) = t.provisioned.get(i) {
            b.provisioned = max_opt(b.provisioned, f64::from(p));
            if let Some(&before) = i.checked_sub(1).and_then(|j| t.provisioned.get(j)) {
                b.up |= p > before;
                b.down |= p < before;
            }
        }
        if let Some(&r) = t.ready.get(i) {
            let r = f64::from(r);
            b.ready = min_opt(b.ready, r);
            if unserved_at(scenario, run, k) > 0.0 {
                b.shortfall = Some(b.shortfall.map_or((r, d), |(l, h)| (l.min(r), h.max(d))));
            }
        }
        if let Some(Some(f)) = t.forecast.get(i) {
            let (lo, hi) = (f.peak_point / c, f.peak_upper / c);
            if lo.is_finite() && hi.is_finite() {
                let (lo, hi) = (lo.min(hi), lo.max(hi));
                b.forecast = Some(b.forecast.map_or((lo, hi), |(l, h)| (l.max(lo), h.max(hi))));
            }
        }
        if let Some(&s) = t.severity.get(i) {
            b.severity = b.severity.max(s);
        }
    }
    b
}

/// The time-series chart of `run` over `steps`.
fn series_chart(scenario: &Scenario, run: &Run, steps: Range<usize>) -> String {
    let ranges = buckets(steps.clone());
    let data: Vec<Bucket> = ranges
        .iter()
        .map(|r| reduce(scenario, run, r.clone()))
        .collect();
    let secs = |k: usize| scenario.time(k).as_secs_f64();
    // Bucket b spans edges[b]..edges[b + 1].
    let mut edges: Vec<f64> = ranges.iter().map(|r| secs(r.start)).collect();
    edges.push(secs(steps.end));
    // The forecast band is left out of the scale: a wild upper end would flatten the rest, and
    // the chart clips it at the top instead.
    let top = data
        .iter()
        .flat_map(|b| [b.demand, b.provisioned, b.ready])
        .flatten()
        .fold(1.0, f64::max);
    let x = scale(secs(steps.start), secs(steps.end));
    chart_or_note(draw_series(&data, &edges, x, top * 1.08))
}

/// The points of a step line over the runs of buckets that have a value, `values[b]` held from
/// `edges[b]` to `edges[b + 1]`, clamped to `[lo, hi]`.
fn step_runs(edges: &[f64], values: &[Option<f64>], lo: f64, hi: f64) -> Vec<Vec<(f64, f64)>> {
    let mut runs = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    for (b, v) in values.iter().enumerate() {
        match (v.filter(|v| v.is_finite()), edges.get(b), edges.get(b + 1)) {
            (Some(v), Some(&x0), Some(&x1)) => {
                let v = v.clamp(lo, hi);
                run.push((x0, v));
                run.push((x1, v));
            }
            _ => {
                if !run.is_empty() {
                    runs.push(std::mem::take(&mut run));
                }
            }
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

/// The closed shapes of a band between two step lines, one per run of buckets that have it.
fn band_shapes(edges: &[f64], values: &[Option<(f64, f64)>], hi: f64) -> Vec<Vec<(f64, f64)>> {
    let lower: Vec<Option<f64>> = values.iter().map(|v| v.map(|(l, _)| l)).collect();
    let upper: Vec<Option<f64>> = values.iter().map(|v| v.map(|(_, h)| h)).collect();
    step_runs(edges, &upper, 0.0, hi)
        .into_iter()
        .zip(step_runs(edges, &lower, 0.0, hi))
        .map(|(mut top, bottom)| {
            top.extend(bottom.into_iter().rev());
            top
        })
        .collect()
}

fn draw_series(data: &[Bucket], edges: &[f64], x: (f64, f64), y_hi: f64) -> Result<String, String> {
    // Within what `scale` allows, so that every value drawn is inside the chart's range.
    let y_hi = scale(0.0, y_hi).1;
    // Below zero, two rows of decision ticks: scale-ups, then scale-downs.
    let row = 0.045 * y_hi;
    let y = scale(-2.2 * row, y_hi);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SERIES_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(56)
            .build_cartesian_2d(x.0..x.1, y.0..y.1)
            .map_err(err)?;
        // Whole workers only, none below zero (the tick rows).
        let y_fmt = |v: &f64| {
            if *v < 0.0 || v.fract().abs() > 1e-9 {
                String::new()
            } else {
                format!("{v:.0}")
            }
        };
        // The x axis is drawn below, at round UTC times rather than plotters' round numbers.
        chart
            .configure_mesh()
            .y_desc("workers")
            .x_labels(0)
            .y_labels(6)
            .y_label_formatter(&y_fmt)
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .label_style(label_font())
            .axis_desc_style(label_font())
            .draw()
            .map_err(err)?;
        let width = i32::try_from(SERIES_SIZE.0).unwrap_or(i32::MAX);
        let label_style = label_font().pos(Pos::new(HPos::Center, VPos::Top));
        for t in time_ticks(x.0, x.1, 8) {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(t, y.0), (t, y.1)],
                    GRID.stroke_width(1),
                )))
                .map_err(err)?;
            // A label that would stick out of the picture is left off (moving it in would
            // overlap its neighbour); the grid line still marks the time.
            let (px, _) = chart.backend_coord(&(t, y.0));
            if px - DATE_HALF_WIDTH < 0 || px + DATE_HALF_WIDTH > width {
                continue;
            }
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((t, y.0))
                        + Text::new(format_utc(t), (0, 8), label_style.clone()),
                ))
                .map_err(err)?;
        }
        let bands = |f: fn(&Bucket) -> Option<(f64, f64)>| data.iter().map(f).collect::<Vec<_>>();
        let series = |f: fn(&Bucket) -> Option<f64>| data.iter().map(f).collect::<Vec<_>>();
        let polygons = |chart: &mut Chart<'_, '_>,
                        shapes: Vec<Vec<(f64, f64)>>,
                        style: ShapeStyle|
         -> Result<(), String> {
            chart
                .draw_series(shapes.into_iter().map(|s| Polygon::new(s, style)))
                .map_err(err)?;
            Ok(())
        };
        let lines = |chart: &mut Chart<'_, '_>,
                     runs: Vec<Vec<(f64, f64)>>,
                     style: ShapeStyle|
         -> Result<(), String> {
            for run in runs {
                chart
                    .draw_series(LineSeries::new(run, style))
                    .map_err(err)?;
            }
            Ok(())
        };
        polygons(
            &mut chart,
            band_shapes(edges, &bands(|b| b.forecast), y_hi),
            BAND.mix(0.3).filled(),
        )?;
        lines(
            &mut chart,
            step_runs(edges, &series(|b| b.provisioned), 0.0, y_hi),
            PROVISIONED.stroke_width(1),
        )?;
        lines(
            &mut chart,
            step_runs(edges, &series(|b| b.ready), 0.0, y_hi),
            READY.stroke_width(1),
        )?;
        // The shortfall over the worker lines, which would hide it, and demand last: it is what
        // everything else is read against.
        polygons(
            &mut chart,
            band_shapes(edges, &bands(|b| b.shortfall), y_hi),
            SHORTFALL.mix(0.45).filled(),
        )?;
        lines(
            &mut chart,
            step_runs(edges, &series(|b| b.demand), 0.0, y_hi),
            DEMAND.stroke_width(1),
        )?;
        lines(
            &mut chart,
            vec![vec![(x.0, 0.0), (x.1, 0.0)]],
            AXIS.stroke_width(1),
        )?;
        let flags = |f: fn(&Bucket) -> bool| data.iter().map(f).collect::<Vec<_>>();
        // One bar per run of flagged buckets (at least a pixel wide), not a mark per bucket:
        // over weeks the marks merge into bars anyway, and each would be an SVG element.
        let pixel = (x.1 - x.0) / f64::from(SERIES_SIZE.0);
        for (flag, (lo, hi), colour) in [
            (flags(|b| b.up), (-0.9 * row, -0.2 * row), UP),
            (flags(|b| b.down), (-2.0 * row, -1.3 * row), DOWN),
        ] {
            chart
                .draw_series(flagged_runs(edges, &flag).map(|(a, b)| {
                    Rectangle::new([(a, lo), (b.max(a + pixel), hi)], colour.filled())
                }))
                .map_err(err)?;
        }
        for (flag, colour) in [
            (flags(|b| b.severity == Severity::Medium), MEDIUM),
            (flags(|b| b.severity >= Severity::High), HIGH),
        ] {
            chart
                .draw_series(
                    flagged(edges, &flag)
                        .map(|t| Circle::new((t, 0.975 * y_hi), 3, colour.filled())),
                )
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// A chart's SVG, or a note saying why it could not be drawn.
fn chart_or_note(chart: Result<String, String>) -> String {
    chart.unwrap_or_else(|e| {
        format!(
            "<p class=\"note\">This chart could not be drawn: {}</p>",
            escape_html(&e)
        )
    })
}

fn err<E: fmt::Display>(e: E) -> String {
    e.to_string()
}

/// The charts' text: the page's sans-serif at 11 px.
fn label_font() -> TextStyle<'static> {
    ("sans-serif", 11).into_font().color(&LABEL)
}

/// An axis label: few digits.
fn short_number(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A usable scale range: `(lo, hi)` if finite and increasing, else something around `lo`;
/// within ±10¹⁵ (plotters' axis arithmetic overflows near the ends of the float range; times in
/// seconds since the epoch are far inside).
fn scale(lo: f64, hi: f64) -> (f64, f64) {
    const LIMIT: f64 = 1e15;
    let (lo, hi) = (lo.clamp(-LIMIT, LIMIT), hi.clamp(-LIMIT, LIMIT));
    if lo.is_finite() && hi.is_finite() && hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo, lo + 1.0)
    } else {
        (0.0, 1.0)
    }
}

/// A number for the page's text with `.1` decimals; "–" when it is not finite.
struct Num(f64, usize);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_finite() {
            write!(f, "{:.*}", self.1, self.0)
        } else {
            f.write_str("–")
        }
    }
}

/// The spans `(start, end)` of the runs of consecutive flagged buckets.
fn flagged_runs<'a>(edges: &'a [f64], flags: &'a [bool]) -> impl Iterator<Item = (f64, f64)> + 'a {
    let mut b = 0;
    std::iter::from_fn(move || {
        let start = (b..flags.len()).find(|&j| flags[j])?;
        let end = (start..flags.len())
            .find(|&j| !flags[j])
            .unwrap_or(flags.len());
        b = end;
        Some((*edges.get(start)?, *edges.get(end)?))
    })
}

/// The middle of every flagged bucket.
fn flagged<'a>(edges: &'a [f64], flags: &'a [bool]) -> impl Iterator<Item = f64> + 'a {
    flags
        .iter()
        .zip(edges.windows(2))
        .filter(|(f, _)| **f)
        .map(|(_, e)| (e[0] + e[1]) / 2.0)
}

/// Date ticks over `[lo, hi]` (seconds since the epoch): at most `max` of them, at round
/// multiples of a minute, an hour, a day or a week since the epoch (UTC).
fn time_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    const MINUTE: f64 = 60.0;
    const HOUR: f64 = 3600.0;
    const DAY: f64 = 86_400.0;
    const STEPS: [f64; 17] = [
        MINUTE,
        5.0 * MINUTE,
        15.0 * MINUTE,
        30.0 * MINUTE,
        HOUR,
        2.0 * HOUR,
        3.0 * HOUR,
        6.0 * HOUR,
        12.0 * HOUR,
        DAY,
        2.0 * DAY,
        7.0 * DAY,
        14.0 * DAY,
        28.0 * DAY,
        56.0 * DAY,
        112.0 * DAY,
        364.0 * DAY,
    ];
    if !(lo.is_finite() && hi.is_finite() && hi > lo) || max == 0 {
        return Vec::new();
    }
    let span = hi - lo;
    let step = STEPS
        .into_iter()
        .find(|s| span / s <= max as f64)
        .unwrap_or_else(|| (span / max as f64 / (364.0 * DAY)).ceil() * 364.0 * DAY);
    let first = (lo / step).ceil();
    (0..=max)
        .map(|j| (first + j as f64) * step)
        .take_while(|t| *t <= hi)
        .collect()
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescient_eval::trace::Trace;
    use prescient_sim::{SimParams, Timeline, by_name, no_stopwatch, simulate};

    /// Two days of per-minute demand with a daily cycle and a burst, from 2024-02-28.
    fn scenario(name: &str) -> Scenario {
        let n = 2 * 1440;
        let start = 1_709_078_400.0;
        let times = (0..n).map(|i| start + 60.0 * i as f64).collect();
        let values = (0..n)
            .map(|i| {
                let day = (i as f64 / 1440.0 * std::f64::consts::TAU).sin();
                let burst = if (2000..2030).contains(&i) { 80.0 } else { 0.0 };
                100.0 + 40.0 * day + burst
            })
            .collect();
        let trace = Trace::new(name, times, values).unwrap();
        Scenario::new(&trace, SimParams::default()).unwrap()
    }

    fn runs(scenario: &Scenario, names: &[&str]) -> Vec<(String, Run)> {
        names
            .iter()
            .map(|name| {
                let mut policy = by_name(name, scenario, 0.7).unwrap();
                let run = simulate(scenario, policy.as_mut(), &mut no_stopwatch).unwrap();
                (name.to_string(), run)
            })
            .collect()
    }

    #[test]
    fn the_page_shows_every_policy_and_no_nan() {
        let s = scenario("tiny <trace> & co");
        let runs = runs(
            &s,
            &["oracle", "static", "hpa", "hpa@0.5", "hpa@0.7", "hpa@0.9"],
        );
        let page = render(&s, &runs);
        for (name, _) in &runs {
            assert!(page.contains(name.as_str()), "{name} missing");
        }
        assert!(page.contains("tiny &lt;trace&gt; &amp; co"));
        assert!(!page.contains("<trace>"));
        assert!(page.contains("<svg"));
        assert_eq!(page.matches("<svg").count(), page.matches("</svg>").count());
        assert!(!page.contains("NaN"));
        assert!(page.contains("2024-02-29"));
        // hpa@0.7 is hpa: charted once.
        assert!(page.contains("The same policy as hpa"));
        // The static policy's cost is off the frontier's scale and given in words.
        assert!(page.contains("Not drawn: static"));
        assert!(page.contains("Zoom: the 2 days in which hpa left the most demand unserved"));
        assert!(page.contains("Closer: the 2 hours of those"));
    }

    #[test]
    fn the_report_is_written_to_the_folder() {
        let s = scenario("written");
        let runs = runs(&s, &["hpa", "snaive-hpa"]);
        let dir = std::env::temp_dir().join(format!("prescient-report-{}", std::process::id()));
        let path = write(&dir, &s, &runs).unwrap();
        let page = std::fs::read_to_string(&path).unwrap();
        assert!(page.contains("snaive-hpa"));
        assert_eq!(page, render(&s, &runs), "the page is deterministic");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_runs_and_empty_timelines_give_empty_charts() {
        let s = scenario("empty");
        let page = render(&s, &[]);
        assert!(page.contains("<svg"));
        assert!(!page.contains("NaN"));
        let mut one = runs(&s, &["hpa"]);
        one[0].1.timeline = Timeline::default();
        let page = render(&s, &one);
        assert!(page.contains("<svg"));
        assert!(!page.contains("NaN"));
    }

    #[test]
    fn buckets_cover_the_steps_and_keep_peaks_and_shortfalls() {
        let b = buckets(10..10_010);
        assert_eq!(b.len(), MAX_POINTS);
        assert_eq!(b[0].start, 10);
        assert_eq!(b[MAX_POINTS - 1].end, 10_010);
        assert!(b.windows(2).all(|w| w[0].end == w[1].start));
        assert_eq!(buckets(0..3).len(), 3);
        assert!(buckets(5..5).is_empty());

        let s = scenario("b");
        let mut r = runs(&s, &["hpa"]).remove(0).1;
        let first = s.first_step();
        r.timeline.provisioned[100] = 1000;
        r.timeline.ready[101] = 0;
        let b = reduce(&s, &r, first + 99..first + 103);
        assert_eq!(b.provisioned, Some(1000.0));
        assert_eq!(b.ready, Some(0.0));
        assert!(b.up && b.down);
    }

    #[test]
    fn the_zoom_finds_the_window_with_the_most_unserved_demand() {
        let s = scenario("z");
        let r = runs(&s, &["hpa"]).remove(0).1;
        let measured = s.warmup_steps()..s.len();
        let w = worst_window(&s, &r, measured.clone(), 40);
        assert_eq!(w.len(), 40);
        assert!(w.start >= s.warmup_steps() && w.end <= s.len());
        // The burst (minutes 2000 to 2030) is where the HPA falls short.
        assert!((7900..8130).contains(&w.start), "{w:?}");
        // Longer than the measured period: all of it.
        assert_eq!(worst_window(&s, &r, measured.clone(), usize::MAX), measured);
        // Within a window that misses the burst, the best of that window.
        let early = worst_window(&s, &r, 6000..7000, 40);
        assert!(early.start >= 6000 && early.end <= 7000);
        assert!(worst_window(&s, &r, 10..10, 40).is_empty());
    }

    #[test]
    fn flagged_runs_join_neighbours() {
        let edges = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let flags = [true, true, false, false, true];
        let runs: Vec<_> = flagged_runs(&edges, &flags).collect();
        assert_eq!(runs, vec![(0.0, 2.0), (4.0, 5.0)]);
        assert_eq!(flagged_runs(&edges, &[false; 5]).count(), 0);
    }

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(format_utc(1_709_213_820.0), "2024-02-29 13:37");
        assert_eq!(format_utc(807_235_200.0), "1995-08-01 00:00");
        assert_eq!(format_utc(f64::NAN), "1970-01-01 00:00");
    }

    #[test]
    fn ticks_are_round_and_bounded() {
        let day = 86_400.0;
        let t = time_ticks(0.5 * day, 7.5 * day, 7);
        assert_eq!(t.len(), 7);
        assert!(t.iter().all(|x| x % day == 0.0));
        assert!(time_ticks(0.0, 3000.0 * day, 7).len() <= 8);
        assert!(time_ticks(1.0, 1.0, 7).is_empty());
    }

    #[test]
    fn text_is_escaped_and_ranges_are_usable() {
        assert_eq!(escape_html("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
        assert_eq!(Num(f64::NAN, 2).to_string(), "–");
        assert_eq!(scale(f64::NAN, 1.0), (0.0, 1.0));
        assert_eq!(scale(2.0, 2.0), (2.0, 3.0));
        assert_eq!(scale(0.0, f64::MAX), (0.0, 1e15));
    }
}
