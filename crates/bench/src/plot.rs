//! `--plot FILE.svg`: the latency distribution of every method (cumulative,
//! log-scaled latency axis) and, after an RSS sweep, p50 cost versus the
//! parent's RSS with one line per method. Drawn with plotters.

use crate::error::{failed, BenchError};
use crate::report::Report;
use plotters::prelude::*;
use std::path::Path;

const W: u32 = 1100;
const H: u32 = 440;

fn err(e: impl std::fmt::Display) -> BenchError {
    failed(format!("plot: {e}"))
}

/// A legend entry's mark: a short line in the series' colour.
fn legend_mark(color: RGBAColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
}

/// Both charts' legend box, at `pos`.
fn draw_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    pos: SeriesLabelPosition,
) -> Result<(), BenchError>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(pos)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 11))
        .draw()
        .map_err(err)
}

pub fn write_svg(report: &Report, path: &Path) -> Result<(), BenchError> {
    let svg = render_svg(report)?;
    std::fs::write(path, svg).map_err(|e| failed(format!("cannot write {}: {e}", path.display())))
}

/// The plot as SVG text (the caller writes it where and how it wants:
/// `forklore bench --plot` writes it atomically).
pub fn render_svg(report: &Report) -> Result<String, BenchError> {
    let mut svg = String::new();
    draw(report, SVGBackend::with_string(&mut svg, (W, H)))?;
    Ok(svg)
}

fn draw(report: &Report, backend: SVGBackend<'_>) -> Result<(), BenchError> {
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let sweep = !report.fits.is_empty();
    let (left, right) = if sweep {
        root.split_horizontally(W / 2)
    } else {
        (root.clone(), root.clone())
    };
    draw_cdf(report, &left)?;
    if sweep {
        draw_sweep(report, &right)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

fn env_line(report: &Report) -> String {
    let e = &report.environment;
    let pin = e
        .pinned_cpu
        .map_or("unpinned".to_string(), |c| format!("pinned CPU {c}"));
    let vm = if e.virtualized {
        format!("{}-vCPU VM", e.cpus_online)
    } else {
        format!("{} CPUs", e.cpus_online)
    };
    format!("Linux {}, {vm}, {pin}", e.kernel)
}

fn draw_cdf<DB: DrawingBackend>(
    report: &Report,
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> Result<(), BenchError>
where
    DB::ErrorType: 'static,
{
    let rss0 = report
        .results
        .iter()
        .map(|r| r.rss_bytes)
        .min()
        .unwrap_or(0);
    let series: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.rss_bytes == rss0 && !r.cdf.is_empty())
        .collect();
    let pts = |r: &crate::report::MethodResult| -> Vec<(f64, f64)> {
        r.cdf
            .iter()
            .filter(|p| p.1 < 1.0)
            .map(|&(ns, q)| (ns.max(1) as f64 / 1e3, q))
            .collect()
    };
    let all: Vec<f64> = series.iter().flat_map(|r| pts(r)).map(|p| p.0).collect();
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min).min(1e9);
    let hi = all.iter().copied().fold(0.0, f64::max).max(lo * 10.0);
    let title = format!("latency distribution ({})", env_line(report));
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 15))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d((lo * 0.8..hi * 1.25).log_scale(), 0f64..1f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("latency per operation (µs, log scale)")
        .y_desc("fraction of operations ≤ x")
        .x_label_formatter(&|v| format!("{v}"))
        .draw()
        .map_err(err)?;
    for (i, r) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(pts(r), color.stroke_width(2)))
            .map_err(err)?
            .label(r.method.clone())
            .legend(legend_mark(color));
    }
    draw_legend(&mut chart, SeriesLabelPosition::LowerRight)
}

fn draw_sweep<DB: DrawingBackend>(
    report: &Report,
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> Result<(), BenchError>
where
    DB::ErrorType: 'static,
{
    let gib = (1u64 << 30) as f64;
    let xmax = report.config.rss_bytes.iter().copied().max().unwrap_or(1) as f64 / gib;
    let ymax = report
        .fits
        .iter()
        .flat_map(|f| f.points.iter().map(|p| p.1))
        .max()
        .unwrap_or(1) as f64
        / 1e6;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "p50 cost versus parent RSS (dots: measured, lines: fit)",
            ("sans-serif", 15),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..xmax * 1.05, 0f64..ymax * 1.1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("private anonymous memory touched by the parent (GiB)")
        .y_desc("p50 per operation (ms)")
        .draw()
        .map_err(err)?;
    for (i, f) in report.fits.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(f64, f64)> = f
            .points
            .iter()
            .map(|&(x, y)| (x as f64 / gib, y as f64 / 1e6))
            .collect();
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(err)?;
        let line = [0.0, xmax].map(|x| (x, (f.intercept_ns + f.ms_per_gib * 1e6 * x) / 1e6));
        let label = if f.flat {
            format!("{}: flat", f.method)
        } else {
            format!("{}: {:.1} ms/GiB, R² {:.3}", f.method, f.ms_per_gib, f.r2)
        };
        chart
            .draw_series(LineSeries::new(line, color.stroke_width(2)))
            .map_err(err)?
            .label(label)
            .legend(legend_mark(color));
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_an_svg() {
        let r = crate::report::tests::sample_report();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.svg");
        write_svg(&r, &p).unwrap();
        let s = std::fs::read_to_string(&p).unwrap();
        assert!(s.starts_with("<svg") && s.contains("fork") && s.contains("ms/GiB"));
    }
}
