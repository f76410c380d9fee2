//! The evaluation's PNG figures, drawn with plotters' bitmap backend.
//!
//! Text is drawn with ab_glyph from one TrueType file found on the machine (no fontconfig or
//! freetype): [`register_font`] must succeed before any figure is drawn.

use plotters::prelude::*;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::results::{EvalResults, Failover, Replacement, SweepRun};
use crate::load::{KindSummary, RequestKind};
use crate::ToolError;

/// Environment variable naming a TrueType font file to draw text with.
pub const FONT_ENV: &str = "TOYSTORE_FONT";
/// Where a sans-serif TrueType font usually is (Debian's fonts-dejavu-core first).
pub const FONT_CANDIDATES: [&str; 7] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/Library/Fonts/Arial.ttf",
];

type Drawn = Result<(), Box<dyn Error>>;

/// The series legend every plot draws: framed, on a translucent white background.
fn legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    font_size: u32,
) -> Drawn
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", font_size))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
/// Picks one request kind's summary out of a sweep run.
type Pick = fn(&SweepRun) -> &KindSummary;

const ON: RGBColor = RGBColor(31, 119, 180);
const OFF: RGBColor = RGBColor(214, 39, 40);
const QUERY: RGBColor = RGBColor(31, 119, 180);
const BUY: RGBColor = RGBColor(255, 127, 14);
const LOOKUP: RGBColor = RGBColor(44, 160, 44);
/// The minor grid lines.
const LIGHT: RGBColor = RGBColor(240, 240, 240);

/// Registers the font plotters draws every text with, once per process (plotters' font table is
/// itself process-wide): `$TOYSTORE_FONT`, else the first of [`FONT_CANDIDATES`] that exists.
///
/// # Errors
/// No usable font file; the message says which package or variable provides one.
pub fn register_font() -> Result<PathBuf, FontError> {
    static REGISTERED: OnceLock<Result<PathBuf, FontError>> = OnceLock::new();
    REGISTERED.get_or_init(find_and_register).clone()
}

/// No font the plots can be drawn with (kept for the whole process, so it is `Clone`).
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct FontError(String);

fn find_and_register() -> Result<PathBuf, FontError> {
    let from_env = std::env::var_os(FONT_ENV).map(PathBuf::from);
    let path = from_env
        .clone()
        .or_else(|| {
            FONT_CANDIDATES
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
        })
        .ok_or_else(|| {
            FontError(format!(
                "no TrueType font for the plots: install one (Debian: apt-get install \
                 fonts-dejavu-core) or set {FONT_ENV} to a .ttf file"
            ))
        })?;
    let bytes = std::fs::read(&path)
        .map_err(|e| FontError(format!("cannot read the font {}: {e}", path.display())))?;
    // plotters keeps fonts as `&'static [u8]`; this runs once per process, so the leak is the
    // size of one font file.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| FontError(format!("{} is not a TrueType font", path.display())))?;
    Ok(path)
}

fn drawn(path: &Path, result: Drawn) -> Result<(), ToolError> {
    result.map_err(|e| ToolError::Plot {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// `latency.png`: p50 and p99 of each request kind against p, cache on and off, one panel per
/// kind.
///
/// # Errors
/// The file cannot be drawn or written.
pub fn latency(path: &Path, results: &EvalResults) -> Result<(), ToolError> {
    drawn(path, draw_latency(path, &results.sweep))
}

fn draw_latency(path: &Path, sweep: &[SweepRun]) -> Drawn {
    let root = BitMapBackend::new(path, (1500, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(50);
    title.titled(
        "Latency against buy probability p (5 sessions)",
        ("sans-serif", 26),
    )?;
    let panels = body.split_evenly((1, 3));
    let kinds: [(RequestKind, Pick); 3] = [
        (RequestKind::Query, |r| &r.query),
        (RequestKind::Buy, |r| &r.buy),
        (RequestKind::Lookup, |r| &r.lookup),
    ];
    for (panel, (kind, pick)) in panels.iter().zip(kinds) {
        let series = |cache: bool, p99: bool| -> Vec<(f64, f64)> {
            sweep
                .iter()
                .filter(|r| r.cache == cache && pick(r).count > 0)
                .map(|r| (r.p, if p99 { pick(r).p99_ms } else { pick(r).p50_ms }))
                .collect()
        };
        let top = [true, false]
            .iter()
            .flat_map(|&c| series(c, true))
            .map(|(_, y)| y)
            .fold(0.1, f64::max);
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{} latency", kind.name()), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(-0.05f64..0.85f64, 0f64..top * 1.15)?;
        chart
            .configure_mesh()
            .light_line_style(LIGHT)
            .x_desc("p (buy probability)")
            .y_desc("ms")
            .label_style(("sans-serif", 14))
            .draw()?;
        for (cache, color) in [(true, ON), (false, OFF)] {
            for p99 in [false, true] {
                let points = series(cache, p99);
                let style = if p99 {
                    color.mix(0.5).stroke_width(2)
                } else {
                    color.stroke_width(3)
                };
                let label = format!(
                    "cache {} {}",
                    if cache { "on" } else { "off" },
                    if p99 { "p99" } else { "p50" }
                );
                chart
                    .draw_series(LineSeries::new(points.clone(), style))?
                    .label(label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
                chart.draw_series(points.iter().map(|&(x, y)| {
                    if p99 {
                        TriangleMarker::new((x, y), 5, style.filled()).into_dyn()
                    } else {
                        Circle::new((x, y), 4, style.filled()).into_dyn()
                    }
                }))?;
            }
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft, 13)?;
    }
    root.present()?;
    Ok(())
}

/// `hit_ratio.png`: the frontend's cache hit ratio against p, cache on and off.
///
/// # Errors
/// The file cannot be drawn or written.
pub fn hit_ratio(path: &Path, results: &EvalResults) -> Result<(), ToolError> {
    drawn(path, draw_hit_ratio(path, &results.sweep))
}

fn draw_hit_ratio(path: &Path, sweep: &[SweepRun]) -> Drawn {
    let root = BitMapBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Cache hit ratio against buy probability p",
            ("sans-serif", 24),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.05f64..0.85f64, 0f64..105f64)?;
    chart
        .configure_mesh()
        .light_line_style(LIGHT)
        .x_desc("p (buy probability)")
        .y_desc("hits / (hits + misses), %")
        .label_style(("sans-serif", 15))
        .draw()?;
    for (cache, color) in [(true, ON), (false, OFF)] {
        let points: Vec<(f64, f64)> = sweep
            .iter()
            .filter(|r| r.cache == cache)
            .filter_map(|r| Some((r.p, r.hit_ratio()? * 100.0)))
            .collect();
        let style = color.stroke_width(3);
        chart
            .draw_series(LineSeries::new(points.clone(), style))?
            .label(if cache { "cache on" } else { "cache off" })
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        chart.draw_series(
            points
                .iter()
                .map(|&(x, y)| Circle::new((x, y), 5, style.filled())),
        )?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight, 15)?;
    root.present()?;
    Ok(())
}

/// `cache_timeline.png`: one row per toy, filled while the toy was in the cache, with the phases
/// of the replacement experiment marked.
///
/// # Errors
/// The file cannot be drawn or written.
pub fn cache_timeline(path: &Path, replacement: &Replacement) -> Result<(), ToolError> {
    drawn(path, draw_cache_timeline(path, replacement))
}

fn draw_cache_timeline(path: &Path, r: &Replacement) -> Drawn {
    let rows = r.toys.len() as i32;
    let end = r
        .snapshots
        .last()
        .map(|s| s.at_s)
        .into_iter()
        .chain(r.phases.last().map(|p| p.end_s))
        .fold(0.1, f64::max);
    let root = BitMapBackend::new(path, (1200, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!(
        "Toys in a cache of {} entries over time ({} toys, S3-FIFO)",
        r.cache_size,
        r.toys.len()
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(130)
        // One row more than the toys, left empty, for the phase labels.
        .build_cartesian_2d(0f64..end, (0..rows + 1).into_segmented())?;
    let toys = r.toys.clone();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(LIGHT)
        .y_labels(r.toys.len() + 1)
        .y_label_formatter(&move |v| match v {
            SegmentValue::CenterOf(i) => toys.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .x_desc("time (s)")
        .label_style(("sans-serif", 14))
        .draw()?;
    let cells = r.snapshots.windows(2).flat_map(|pair| {
        let (now, next) = (&pair[0], &pair[1]);
        now.keys.iter().filter_map(move |key| {
            let row = r.toys.iter().position(|t| t == key)? as i32;
            Some(Rectangle::new(
                [
                    (now.at_s, SegmentValue::Exact(row)),
                    (next.at_s, SegmentValue::Exact(row + 1)),
                ],
                ON.mix(0.85).filled(),
            ))
        })
    });
    chart.draw_series(cells)?;
    for phase in &r.phases {
        let line = [
            (phase.start_s, SegmentValue::Exact(0)),
            (phase.start_s, SegmentValue::Exact(rows + 1)),
        ];
        chart.draw_series(std::iter::once(PathElement::new(
            line,
            BLACK.stroke_width(2),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            phase.label.clone(),
            (phase.start_s + 0.01 * end, SegmentValue::Exact(rows + 1)),
            ("sans-serif", 16).into_font().color(&BLACK),
        )))?;
    }
    root.present()?;
    Ok(())
}

/// `failover.png`: every request's latency (log scale) at the time it was sent, with the kill,
/// the restart and the restarted replica's readiness marked.
///
/// # Errors
/// The file cannot be drawn or written.
pub fn failover(path: &Path, failover: &Failover) -> Result<(), ToolError> {
    drawn(path, draw_failover(path, failover))
}

fn draw_failover(path: &Path, f: &Failover) -> Drawn {
    let ms = |s: &crate::load::Sample| (s.latency.as_secs_f64() * 1000.0).max(0.01);
    let top = f.samples.iter().map(ms).fold(1.0, f64::max) * 2.0;
    let bottom = f.samples.iter().map(ms).fold(top, f64::min) / 2.0;
    let root = BitMapBackend::new(path, (1200, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!(
        "Leader (replica {}) killed and restarted under load: {} client error(s)",
        f.killed, f.errors
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(0f64..f.seconds.max(0.1), (bottom..top).log_scale())?;
    chart
        .configure_mesh()
        .light_line_style(LIGHT)
        .x_desc("time the request was sent (s)")
        .y_desc("latency (ms, log scale)")
        .label_style(("sans-serif", 15))
        .draw()?;
    for (kind, color) in [(RequestKind::Query, QUERY), (RequestKind::Buy, BUY)] {
        let points: Vec<(f64, f64)> = f
            .samples
            .iter()
            .filter(|s| s.kind == kind && s.ok)
            .map(|s| (s.at.as_secs_f64(), ms(s)))
            .collect();
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&p| Circle::new(p, 2, color.mix(0.6).filled())),
            )?
            .label(kind.name())
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
    }
    let failed: Vec<(f64, f64)> = f
        .samples
        .iter()
        .filter(|s| !s.ok)
        .map(|s| (s.at.as_secs_f64(), ms(s)))
        .collect();
    chart
        .draw_series(
            failed
                .iter()
                .map(|&p| Cross::new(p, 6, RED.stroke_width(2))),
        )?
        .label(format!("failed ({})", failed.len()))
        .legend(|(x, y)| Cross::new((x + 10, y), 5, RED.stroke_width(2)));
    let marks = [
        (f.kill_at_s, "kill -9", RED),
        (f.restart_at_s, "restart", LOOKUP),
        (f.ready_at_s, "ready", BLACK),
    ];
    for (at, label, color) in marks {
        let style = color.stroke_width(2);
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(at, bottom), (at, top)],
                style,
            )))?
            .label(format!("{label} at {at:.1} s"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight, 15)?;
    root.present()?;
    Ok(())
}
