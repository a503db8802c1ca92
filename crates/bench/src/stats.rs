//! Statistics: percentiles from HDR histograms, least-squares fit with R²,
//! and the spread between repeated runs.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Spread between runs above which a result is flagged as noisy.
pub const NOISE_THRESHOLD: f64 = 0.05;

/// A latency histogram in nanoseconds: 1 ns to 1 hour, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("static bounds are valid")
}

/// The per-run histogram used while timing: auto-resizing u32 counts, so
/// it stays small (tens of KiB) — every page the parent touches is a page
/// fork must copy, and would be billed to fork.
pub fn new_run_histogram() -> Histogram<u32> {
    let mut h = Histogram::new(3).expect("3 significant figures is valid");
    h.auto(true);
    h
}

/// Record a sample, clamping to the histogram's range.
/// (An auto-resizing histogram grows; a fixed one clamps.)
pub fn record<T: hdrhistogram::Counter>(h: &mut Histogram<T>, ns: u64) {
    if h.record(ns.max(1)).is_err() {
        h.saturating_record(ns.max(1));
    }
}

/// A histogram kept between runs as sorted (value, count) pairs: a few KiB
/// instead of the dense array (see [`new_run_histogram`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sparse(Vec<(u64, u64)>);

impl Sparse {
    /// Add every recorded value of `h`.
    pub fn add(&mut self, h: &Histogram<u32>) {
        let other: Vec<(u64, u64)> = h
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), u64::from(v.count_at_value())))
            .collect();
        let mut out = Vec::with_capacity(self.0.len() + other.len());
        let (mut i, mut j) = (0, 0);
        while i < self.0.len() || j < other.len() {
            match (self.0.get(i), other.get(j)) {
                (Some(a), Some(b)) if a.0 == b.0 => {
                    out.push((a.0, a.1 + b.1));
                    i += 1;
                    j += 1;
                }
                (Some(a), Some(b)) if a.0 < b.0 => {
                    out.push(*a);
                    i += 1;
                }
                (Some(a), None) => {
                    out.push(*a);
                    i += 1;
                }
                (_, Some(b)) => {
                    out.push(*b);
                    j += 1;
                }
                (None, None) => unreachable!("loop condition"),
            }
        }
        self.0 = out;
    }

    /// The dense histogram, for statistics once timing is over.
    pub fn to_histogram(&self) -> Histogram<u64> {
        let mut h = new_histogram();
        for &(v, n) in &self.0 {
            h.saturating_record_n(v.max(1), n);
        }
        h
    }
}

/// Summary of one distribution, in nanoseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub samples: u64,
    pub min_ns: u64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
    pub mean_ns: f64,
    /// Operations per second one after another: 1e9 / mean.
    pub ops_per_sec: f64,
}

impl Stats {
    pub fn from_histogram<T: hdrhistogram::Counter>(h: &Histogram<T>) -> Stats {
        let mean = h.mean();
        Stats {
            samples: h.len(),
            min_ns: h.min(),
            p50_ns: h.value_at_quantile(0.5),
            p90_ns: h.value_at_quantile(0.9),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            max_ns: h.max(),
            mean_ns: mean,
            ops_per_sec: if mean > 0.0 { 1e9 / mean } else { 0.0 },
        }
    }
}

/// Points of the cumulative distribution, for plots: (latency ns, fraction
/// of operations at or below it), at most ~`points` of them.
pub fn cdf(h: &Histogram<u64>, points: usize) -> Vec<(u64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(points + 2);
    let n = points.max(2);
    for i in 0..=n {
        // Denser at the tail: q = 1 - 10^(-4 i/n) covers 0 .. 0.9999.
        let q = if i == 0 {
            0.0
        } else {
            1.0 - 10f64.powf(-4.0 * i as f64 / n as f64)
        };
        out.push((h.value_at_quantile(q), q));
    }
    out.push((h.max(), 1.0));
    out.dedup_by(|b, a| a.0 == b.0 && (b.1 - a.1).abs() < 1e-9);
    out
}

/// Relative spread of per-run values: (max - min) / median. `None` with
/// fewer than two runs.
pub fn spread(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let med = median_sorted(&v);
    if med <= 0.0 {
        return None;
    }
    Some((v[v.len() - 1] - v[0]) / med)
}

fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        0.0
    } else {
        median_sorted(&v)
    }
}

/// Ordinary least squares y = intercept + slope * x.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearFit {
    pub slope: f64,
    pub intercept: f64,
    /// Coefficient of determination; 1.0 when y is constant and fitted exactly.
    pub r2: f64,
}

pub fn linear_fit(points: &[(f64, f64)]) -> Option<LinearFit> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let ss_tot: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    let ss_res: f64 = points
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let r2 = if ss_tot == 0.0 {
        1.0
    } else {
        1.0 - ss_res / ss_tot
    };
    Some(LinearFit {
        slope,
        intercept,
        r2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_line() {
        let f = linear_fit(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]).unwrap();
        assert!((f.slope - 2.0).abs() < 1e-12 && (f.intercept - 1.0).abs() < 1e-12);
        assert!((f.r2 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn noisy_line_r2_below_one() {
        let f = linear_fit(&[(0.0, 0.0), (1.0, 2.0), (2.0, 1.0), (3.0, 3.0)]).unwrap();
        assert!((f.slope - 0.8).abs() < 1e-12);
        assert!((f.r2 - 0.64).abs() < 1e-12, "{}", f.r2);
    }

    #[test]
    fn degenerate_fits() {
        assert!(linear_fit(&[(1.0, 1.0)]).is_none());
        assert!(linear_fit(&[(1.0, 1.0), (1.0, 2.0)]).is_none());
        assert_eq!(linear_fit(&[(0.0, 5.0), (1.0, 5.0)]).unwrap().r2, 1.0);
    }

    #[test]
    fn spreads() {
        assert_eq!(spread(&[100.0]), None);
        assert_eq!(spread(&[100.0, 110.0, 105.0]), Some(10.0 / 105.0));
        assert_eq!(spread(&[100.0, 100.0]), Some(0.0));
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), 2.5);
    }

    #[test]
    fn sparse_merges_runs() {
        let mut sp = Sparse::default();
        for run in 0..3u64 {
            let mut h = new_run_histogram();
            for v in [1000, 2000, 3_000_000_000 + run] {
                record(&mut h, v);
            }
            sp.add(&h);
        }
        let h = sp.to_histogram();
        assert_eq!(h.len(), 9);
        assert_eq!(h.count_at(1000), 3);
        assert_eq!(h.value_at_quantile(0.5), 2000);
        assert!(h.max() >= 3_000_000_000);
        assert!(sp.0.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn histogram_stats() {
        let mut h = new_histogram();
        for v in 1..=1000u64 {
            record(&mut h, v * 1000);
        }
        record(&mut h, 0); // clamped to 1
        let s = Stats::from_histogram(&h);
        assert_eq!(s.samples, 1001);
        assert_eq!(s.min_ns, 1);
        assert!((499_000..=501_000).contains(&s.p50_ns), "{}", s.p50_ns);
        assert!((989_000..=991_000).contains(&s.p99_ns));
        assert!(s.max_ns >= 1_000_000 && s.max_ns < 1_001_000);
        let c = cdf(&h, 20);
        assert!(c.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
        assert_eq!(c.last().unwrap().1, 1.0);
    }
}
