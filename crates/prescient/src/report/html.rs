//! The HTML page of a [`RunReport`]: inline CSS, plotters' SVG charts, escaped text.

use std::fmt::{self, Write as _};

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{BucketSummary, RunReport};
use crate::Severity;

/// The size of every chart, in SVG pixels (the page scales it to its width).
const CHART_SIZE: (u32, u32) = (960, 300);

/// The largest magnitude a chart's axis spans; values beyond are drawn at its edge.
const MAX_VALUE: f64 = 1e12;

/// The highest anomaly surprise drawn, `−log10(1 − score)`: a score of 1 − 10⁻⁸ and above.
const MAX_SURPRISE: f64 = 8.0;

const LOAD: RGBColor = RGBColor(34, 34, 34);
const BAND: RGBColor = RGBColor(255, 127, 14);
const PLANNED: RGBColor = RGBColor(214, 39, 40);
const TARGET: RGBColor = RGBColor(31, 119, 180);
const READY: RGBColor = RGBColor(44, 160, 44);
const SHORT: RGBColor = RGBColor(31, 119, 180);
const LONG: RGBColor = RGBColor(148, 103, 189);
const LOW: RGBColor = RGBColor(188, 189, 34);
const MEDIUM: RGBColor = RGBColor(255, 159, 28);
const HIGH: RGBColor = RGBColor(214, 39, 40);

const CSS: &str = "\
body{font:14px/1.45 system-ui,sans-serif;color:#222;max-width:1080px;margin:1.5em auto;padding:0 1em}\
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.8em}\
table{border-collapse:collapse;font-variant-numeric:tabular-nums}\
th,td{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:right}\
td{white-space:nowrap}th:first-child,td:first-child{text-align:left}\
td.text{text-align:left;white-space:normal;min-width:24em}\
dl{display:grid;grid-template-columns:max-content auto;gap:.1em 1em}dt{color:#666}dd{margin:0}\
figure{margin:1em 0}figcaption{color:#555;margin-top:.3em}\
svg{display:block;width:100%;height:auto}\
.note,.empty{color:#555}.wide{overflow-x:auto}";

/// Marks the page as loaded for automated checks (`data-loaded="ok"` on `<body>`, or `"error"`
/// with the messages in `#page-errors`); the page shows everything without it.
const SCRIPT: &str = "\
var pageErrors=[];\
window.addEventListener('error',function(e){pageErrors.push(String(e.message||e.type))},true);\
window.addEventListener('load',function(){\
var b=document.body,svgs=document.querySelectorAll('figure.chart svg'),shown=0;\
for(var i=0;svgs.length>i;i++){if(svgs[i].getBoundingClientRect().width>0)shown++}\
document.getElementById('page-errors').textContent=pageErrors.join('\\n');\
b.setAttribute('data-charts-shown',String(shown));\
b.setAttribute('data-loaded',pageErrors.length?'error':'ok')});";

/// Renders a report as one self-contained HTML page: a summary, tables of anomalies, forecast
/// accuracy and reasons, charts of the load and forecast band, the workers, the anomaly scores
/// and the forecast error and coverage over time, and the table of target changes.
///
/// A report with no tick gives a page that says so. The same report always gives the same
/// bytes. Every text from the report is escaped.
pub fn render_html(report: &RunReport) -> String {
    let mut page = String::with_capacity(256 * 1024);
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title><style>{CSS}</style><script>{SCRIPT}</script></head>\n\
         <body data-loaded=\"no\">\n<h1>{title}</h1>\n<div id=\"page-errors\" hidden></div>\n",
        title = escape_html(&report.title)
    );
    let (Some(start), Some(end)) = (report.start, report.end) else {
        page.push_str(
            "<p class=\"empty\" id=\"no-data\">No data: the run recorded no tick.</p>\n\
             </body></html>\n",
        );
        return page;
    };
    if report.buckets.is_empty() {
        page.push_str(
            "<p class=\"empty\" id=\"no-data\">No data: the run recorded no tick.</p>\n\
             </body></html>\n",
        );
        return page;
    }
    summary(&mut page, report, start.as_secs_f64(), end.as_secs_f64());
    tables(&mut page, report);
    let axis = Axis::new(start.as_secs_f64(), end.as_secs_f64());
    charts(&mut page, report, &axis);
    changes(&mut page, report);
    page.push_str("</body></html>\n");
    page
}

fn summary(page: &mut String, r: &RunReport, start: f64, end: f64) {
    let _ = writeln!(
        page,
        "<dl id=\"summary\"><dt>span</dt><dd>{} to {} UTC ({:.2} days)</dd>\
         <dt>ticks</dt><dd>{} of {} s ({} with the load missing, {} out of order)</dd>\
         <dt>load</dt><dd>mean {}, highest {}</dd>\
         <dt>worker-hours</dt><dd>{}</dd>\
         <dt>target changes</dt><dd>{} up, {} down</dd>\
         <dt>charts</dt><dd>{} ticks per point</dd></dl>",
        format_utc(start),
        format_utc(end),
        (end - start) / 86_400.0,
        r.ticks,
        Num(Some(r.step_secs), 0),
        r.missing_load,
        r.out_of_order,
        Num(r.load_mean, 1),
        Num(r.load_max, 1),
        Num(Some(r.worker_hours), 1),
        r.scale_ups,
        r.scale_downs,
        r.bucket_ticks,
    );
}

fn tables(page: &mut String, r: &RunReport) {
    page.push_str(
        "<h2>Anomalies</h2>\n<table id=\"anomalies\"><thead><tr><th>severity</th>\
         <th>ticks (any metric)</th><th>ticks (actionable)</th></tr></thead><tbody>\n",
    );
    for (name, any, act) in [
        ("low", r.anomalies.low, r.actionable.low),
        ("medium", r.anomalies.medium, r.actionable.medium),
        ("high", r.anomalies.high, r.actionable.high),
    ] {
        let _ = writeln!(page, "<tr><td>{name}</td><td>{any}</td><td>{act}</td></tr>");
    }
    page.push_str("</tbody></table>\n");

    page.push_str(
        "<h2>Forecast accuracy</h2>\n<table id=\"accuracy\"><thead><tr><th>steps ahead</th>\
         <th>scored</th><th>unscored</th><th>MAE</th><th>MASE</th><th>coverage</th>\
         <th>level</th></tr></thead><tbody>\n",
    );
    for h in &r.accuracy {
        let a = &h.accuracy;
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            h.horizon_steps,
            a.scored,
            h.unscored,
            Num(a.mae, 2),
            Num(a.mase, 3),
            Num(a.coverage, 3),
            Num(h.level, 2),
        );
    }
    let _ = writeln!(
        page,
        "</tbody></table>\n<p class=\"note\">MASE: the mean absolute error over the run's mean \
         absolute one-step change of the load ({}). Coverage: the share of loads inside the \
         forecast interval, to compare with its level.</p>",
        Num(r.naive_mae, 2)
    );

    page.push_str(
        "<h2>Decisions by reason</h2>\n<table id=\"reasons\"><thead><tr><th>reason</th>\
         <th>ticks</th></tr></thead><tbody>\n",
    );
    for (reason, n) in &r.reasons {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{n}</td></tr>",
            escape_html(reason)
        );
    }
    page.push_str("</tbody></table>\n");
}

fn changes(page: &mut String, r: &RunReport) {
    page.push_str("<h2>Target changes</h2>\n");
    if r.changes_omitted > 0 {
        let _ = writeln!(
            page,
            "<p class=\"note\">The latest {} changes; {} earlier ones are counted above but not \
             listed.</p>",
            r.changes.len(),
            r.changes_omitted
        );
    }
    if r.changes.is_empty() {
        page.push_str("<p class=\"empty\">The target never changed.</p>\n");
        return;
    }
    page.push_str(
        "<div class=\"wide\"><table id=\"decisions\"><thead><tr><th>time (UTC)</th><th>from</th>\
         <th>to</th><th>reason</th><th>severity</th><th>planned load</th>\
         <th>explanation</th></tr></thead><tbody>\n",
    );
    for c in &r.changes {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"text\">{}</td><td>{}</td>\
             <td>{}</td><td class=\"text\">{}</td></tr>",
            format_utc_secs(c.ts.as_secs_f64()),
            c.current,
            c.target,
            escape_html(&c.reason),
            severity_name(c.severity),
            Num(c.planned, 1),
            escape_html(&c.explain),
        );
    }
    page.push_str("</tbody></table></div>\n");
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::None => "none",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
    }
}

/// The time axis: hours since the start for runs up to three days, days after that.
struct Axis {
    start: f64,
    unit: f64,
    span: f64,
    label: String,
}

impl Axis {
    fn new(start: f64, end: f64) -> Self {
        let (unit, name) = if end - start <= 3.0 * 86_400.0 {
            (3_600.0, "hours")
        } else {
            (86_400.0, "days")
        };
        Axis {
            start,
            unit,
            span: ((end - start) / unit).max(1e-6),
            label: format!("{name} since {} UTC", format_utc(start)),
        }
    }

    fn x(&self, b: &BucketSummary) -> f64 {
        (b.start.as_secs_f64() - self.start) / self.unit
    }
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn charts(page: &mut String, r: &RunReport, axis: &Axis) {
    page.push_str("<h2>Charts</h2>\n");
    load_chart(page, r, axis);
    workers_chart(page, r, axis);
    anomaly_chart(page, r, axis);
    error_chart(page, r, axis);
    coverage_chart(page, r, axis);
}

/// Writes one chart's `<figure>`: the SVG, or a note when there is nothing to draw or drawing
/// failed.
fn figure(page: &mut String, id: &str, caption: &str, svg: Option<Result<String, String>>) {
    let _ = write!(page, "<figure class=\"chart\" id=\"{id}\">");
    match svg {
        Some(Ok(svg)) => page.push_str(&svg),
        Some(Err(e)) => {
            let _ = write!(
                page,
                "<p class=\"empty\">This chart could not be drawn: {}</p>",
                escape_html(&e)
            );
        }
        None => page.push_str("<p class=\"empty\">No data for this chart.</p>"),
    }
    let _ = writeln!(
        page,
        "<figcaption>{}</figcaption></figure>",
        escape_html(caption)
    );
}

/// The lowest and highest finite values, padded; `None` when there are none.
fn y_range(values: impl Iterator<Item = f64>, floor: Option<f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return None;
    }
    let pad = ((hi - lo) * 0.05).max(hi.abs().max(1.0) * 1e-3);
    // Near the ends of the float range the padding overflows: drop it there.
    let pad = if pad.is_finite() { pad } else { 0.0 };
    let (padded_lo, padded_hi) = (lo - pad, hi + pad);
    let (lo, hi) = if padded_lo.is_finite() && padded_hi.is_finite() {
        (padded_lo, padded_hi)
    } else {
        (lo, hi)
    };
    let lo = match floor {
        Some(f) => lo.max(f),
        None => lo,
    };
    // plotters' axis arithmetic overflows on ranges near the ends of the float range.
    let (lo, hi) = (
        lo.clamp(-MAX_VALUE, MAX_VALUE),
        hi.clamp(-MAX_VALUE, MAX_VALUE),
    );
    if lo < hi {
        Some((lo, hi))
    } else {
        Some((lo, lo + 1.0))
    }
}

/// Lines of a chart: each a run of consecutive points.
type Lines = Vec<Vec<(f64, f64)>>;

/// Runs of consecutive points with a value: a missing value breaks a line.
fn segments(points: impl Iterator<Item = (f64, Option<f64>)>) -> Lines {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (x, y) in points {
        match y.filter(|v| v.is_finite()) {
            Some(y) => current.push((x, y.clamp(-MAX_VALUE, MAX_VALUE))),
            None => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn err<E: fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Draws a chart on a fresh SVG: the mesh and axes, then `draw`'s series, then the legend.
fn svg_chart(
    axis: &Axis,
    (y_lo, y_hi): (f64, f64),
    y_desc: &str,
    draw: impl FnOnce(&mut Chart<'_, '_>) -> Result<(), String>,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..axis.span, y_lo..y_hi)
            .map_err(err)?;
        let x_fmt = |x: &f64| format!("{x:.1}");
        let y_fmt = |y: &f64| short_number(*y);
        chart
            .configure_mesh()
            .x_desc(axis.label.as_str())
            .y_desc(y_desc)
            .x_labels(10)
            .y_labels(6)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(225, 225, 225))
            .draw()
            .map_err(err)?;
        draw(&mut chart)?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// The lines with every value moved into the chart's y range: plotters' pixel arithmetic
/// overflows on points far outside it (a band's end beyond a floor at zero, a huge load).
fn clamp_to(chart: &Chart<'_, '_>, lines: Lines) -> Lines {
    let y = chart.y_range();
    lines
        .into_iter()
        .map(|l| {
            l.into_iter()
                .map(|(x, v)| (x, v.clamp(y.start, y.end)))
                .collect()
        })
        .collect()
}

/// Draws each segment as a line; the first one carries the legend entry.
fn lines(
    chart: &mut Chart<'_, '_>,
    segs: Lines,
    style: ShapeStyle,
    label: &str,
) -> Result<(), String> {
    let segs = clamp_to(chart, segs);
    for (i, seg) in segs.into_iter().enumerate() {
        let series = chart
            .draw_series(LineSeries::new(seg, style))
            .map_err(err)?;
        if i == 0 {
            series
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
    }
    Ok(())
}

/// Fills between two lines, segment by segment; the first segment carries the legend entry.
fn band(
    chart: &mut Chart<'_, '_>,
    lower: Lines,
    upper: Lines,
    style: ShapeStyle,
    label: &str,
) -> Result<(), String> {
    let (lower, upper) = (clamp_to(chart, lower), clamp_to(chart, upper));
    for (i, (lo, hi)) in lower.into_iter().zip(upper).enumerate() {
        let mut points = hi;
        points.extend(lo.into_iter().rev());
        let series = chart
            .draw_series(std::iter::once(Polygon::new(points, style)))
            .map_err(err)?;
        if i == 0 {
            series
                .label(label)
                .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 18, y + 4)], style));
        }
    }
    Ok(())
}

/// Segments where both ends of a band are known, as two matching lists of lines.
fn band_segments(
    r: &RunReport,
    axis: &Axis,
    lower: impl Fn(&BucketSummary) -> Option<f64>,
    upper: impl Fn(&BucketSummary) -> Option<f64>,
) -> (Lines, Lines) {
    let both = |b: &BucketSummary| match (lower(b), upper(b)) {
        (Some(l), Some(u)) if l.is_finite() && u.is_finite() => Some((l, u)),
        _ => None,
    };
    let lo = segments(r.buckets.iter().map(|b| (axis.x(b), both(b).map(|p| p.0))));
    let hi = segments(r.buckets.iter().map(|b| (axis.x(b), both(b).map(|p| p.1))));
    (lo, hi)
}

fn load_chart(page: &mut String, r: &RunReport, axis: &Axis) {
    let bs = &r.buckets;
    let range = y_range(
        bs.iter().flat_map(|b| {
            [
                b.load_min,
                b.load_max,
                b.band_lower,
                b.band_upper,
                b.planned_max,
            ]
            .into_iter()
            .flatten()
        }),
        Some(0.0),
    );
    let svg = range.map(|range| {
        svg_chart(axis, range, "load", |chart| {
            let (lo, hi) = band_segments(r, axis, |b| b.band_lower, |b| b.band_upper);
            band(
                chart,
                lo,
                hi,
                BAND.mix(0.3).filled(),
                "forecast interval (1 step)",
            )?;
            let (lo, hi) = band_segments(r, axis, |b| b.load_min, |b| b.load_max);
            band(chart, lo, hi, LOAD.mix(0.15).filled(), "load range")?;
            let planned = segments(bs.iter().map(|b| (axis.x(b), b.planned_max)));
            lines(
                chart,
                planned,
                PLANNED.stroke_width(1),
                "planned for (peak upper)",
            )?;
            let load = segments(bs.iter().map(|b| (axis.x(b), b.load_mean)));
            lines(chart, load, LOAD.stroke_width(1), "load (mean)")
        })
    });
    figure(
        page,
        "chart-load",
        "Load: the mean and range of each point's ticks, the one-step-ahead forecast interval \
         for those ticks, and the highest load the planner planned for (the peak upper interval \
         end over the lead time).",
        svg,
    );
}

fn workers_chart(page: &mut String, r: &RunReport, axis: &Axis) {
    let bs = &r.buckets;
    let range = y_range(
        bs.iter()
            .flat_map(|b| [b.target_min, b.target_max, b.ready_min, b.ready_max].map(f64::from)),
        Some(0.0),
    );
    let svg = range.map(|range| {
        svg_chart(axis, range, "workers", |chart| {
            let (lo, hi) = band_segments(
                r,
                axis,
                |b| Some(f64::from(b.target_min)),
                |b| Some(f64::from(b.target_max)),
            );
            band(chart, lo, hi, TARGET.mix(0.2).filled(), "target range")?;
            let target = segments(
                bs.iter()
                    .map(|b| (axis.x(b), Some(f64::from(b.target_last)))),
            );
            lines(chart, target, TARGET.stroke_width(2), "target")?;
            let ready = segments(
                bs.iter()
                    .map(|b| (axis.x(b), Some(f64::from(b.ready_last)))),
            );
            lines(chart, ready, READY.stroke_width(1), "ready")
        })
    });
    figure(
        page,
        "chart-workers",
        "Workers: the decisions' target (last of each point, and its range) and the workers \
         ready.",
        svg,
    );
}

/// `−log10(1 − score)`, capped: 3 for a score of 0.999.
fn surprise(score: f64) -> f64 {
    if score >= 1.0 {
        return MAX_SURPRISE;
    }
    (-(1.0 - score).log10()).clamp(0.0, MAX_SURPRISE)
}

fn anomaly_chart(page: &mut String, r: &RunReport, axis: &Axis) {
    let bs = &r.buckets;
    let svg = bs.iter().any(|b| b.anomaly_max.is_some()).then(|| {
        svg_chart(
            axis,
            (0.0, MAX_SURPRISE + 0.5),
            "−log10(1 − score)",
            |chart| {
                let scores = segments(bs.iter().map(|b| (axis.x(b), b.anomaly_max.map(surprise))));
                lines(chart, scores, LOAD.stroke_width(1), "highest anomaly score")?;
                for (sev, colour, name) in [
                    (Severity::Low, LOW, "low"),
                    (Severity::Medium, MEDIUM, "medium"),
                    (Severity::High, HIGH, "high"),
                ] {
                    let marks: Vec<(f64, f64)> = bs
                        .iter()
                        .filter(|b| b.severity == sev)
                        .map(|b| (axis.x(b), b.anomaly_max.map_or(MAX_SURPRISE, surprise)))
                        .collect();
                    if marks.is_empty() {
                        continue;
                    }
                    let style = colour.filled();
                    chart
                        .draw_series(marks.into_iter().map(|p| Circle::new(p, 4, style)))
                        .map_err(err)?
                        .label(name)
                        .legend(move |(x, y)| Circle::new((x + 9, y), 4, style));
                }
                Ok(())
            },
        )
    });
    figure(
        page,
        "chart-anomalies",
        "Anomalies: the highest calibrated score of any metric on a log scale (3 is a score of \
         0.999), with a marker at each point whose worst severity was low, medium or high.",
        svg,
    );
}

/// The error per bucket and horizon: MASE when the run has a scale, else MAE.
fn error_chart(page: &mut String, r: &RunReport, axis: &Axis) {
    let bs = &r.buckets;
    let use_mase = r.naive_mae.is_some_and(|s| s > 0.0);
    let value = |b: &BucketSummary, k: usize| {
        b.accuracy
            .get(k)
            .and_then(|a| if use_mase { a.mase } else { a.mae })
    };
    let range = y_range(
        bs.iter()
            .flat_map(|b| [value(b, 0), value(b, 1)].into_iter().flatten()),
        Some(0.0),
    );
    let svg = range.map(|range| {
        svg_chart(
            axis,
            range,
            if use_mase { "MASE" } else { "MAE" },
            |chart| {
                for (k, colour) in [(0, SHORT), (1, LONG)] {
                    let Some(h) = r.accuracy.get(k) else { continue };
                    let segs = segments(bs.iter().map(|b| (axis.x(b), value(b, k))));
                    let label = format!("{} step(s) ahead", h.horizon_steps);
                    lines(chart, segs, colour.stroke_width(1), &label)?;
                }
                Ok(())
            },
        )
    });
    figure(
        page,
        "chart-error",
        "Forecast error over time: the mean absolute error of the forecasts for each point's \
         ticks, one step ahead and at the planner's horizon, over the run's mean absolute \
         one-step change of the load (MASE; MAE when the load never changed).",
        svg,
    );
}

fn coverage_chart(page: &mut String, r: &RunReport, axis: &Axis) {
    let bs = &r.buckets;
    let any = bs
        .iter()
        .any(|b| b.accuracy.iter().any(|a| a.coverage.is_some()));
    let level = r.accuracy.first().and_then(|h| h.level);
    let svg = any.then(|| {
        svg_chart(axis, (0.0, 1.05), "coverage", |chart| {
            if let Some(level) = level.filter(|l| l.is_finite()) {
                lines(
                    chart,
                    vec![vec![(0.0, level), (axis.span, level)]],
                    PLANNED.stroke_width(1),
                    "interval level",
                )?;
            }
            for (k, colour) in [(0, SHORT), (1, LONG)] {
                let Some(h) = r.accuracy.get(k) else { continue };
                let segs = segments(
                    bs.iter()
                        .map(|b| (axis.x(b), b.accuracy.get(k).and_then(|a| a.coverage))),
                );
                let label = format!("{} step(s) ahead", h.horizon_steps);
                lines(chart, segs, colour.stroke_width(1), &label)?;
            }
            Ok(())
        })
    });
    figure(
        page,
        "chart-coverage",
        "Forecast interval coverage over time: the share of each point's loads inside the \
         interval forecast for them, against the interval's level.",
        svg,
    );
}

/// An axis label: few digits, `k` and `M` for large values.
fn short_number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A number with `digits` decimals, or a dash when unknown.
struct Num(Option<f64>, usize);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(v) if v.is_finite() => write!(f, "{v:.*}", self.1),
            _ => f.write_str("–"),
        }
    }
}

/// The proleptic Gregorian date `(year, month, day)` of `days` since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// `YYYY-MM-DD HH:MM` (UTC) of `secs` since the epoch, rounded down to the minute (`1970-01-01
/// 00:00` for a non-finite time).
pub fn format_utc(secs: f64) -> String {
    let s = format_utc_secs(secs);
    s[..s.len() - 3].to_string()
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of `secs` since the epoch, rounded down to the second.
fn format_utc_secs(secs: f64) -> String {
    let secs = if secs.is_finite() {
        secs.floor() as i64
    } else {
        0
    };
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        s / 3600,
        (s % 3600) / 60,
        s % 60
    )
}

/// `s` with the characters HTML gives a meaning to escaped (`&`, `<`, `>`, `"`, `'`).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup() {
        assert_eq!(
            escape_html("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc_secs(0.0), "1970-01-01 00:00:00");
        assert_eq!(format_utc(1_709_164_800.0 + 3_661.0), "2024-02-29 01:01");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(format_utc_secs(f64::NAN), "1970-01-01 00:00:00");
    }

    #[test]
    fn segments_break_at_gaps() {
        let s = segments(
            [
                (0.0, Some(1.0)),
                (1.0, None),
                (2.0, Some(2.0)),
                (3.0, Some(f64::NAN)),
            ]
            .into_iter(),
        );
        assert_eq!(s, vec![vec![(0.0, 1.0)], vec![(2.0, 2.0)]]);
    }

    #[test]
    fn surprise_is_capped() {
        assert!((surprise(0.999) - 3.0).abs() < 1e-9);
        assert_eq!(surprise(1.0), MAX_SURPRISE);
        assert_eq!(surprise(0.0), 0.0);
    }
}
