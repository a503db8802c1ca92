//! Parsing of option values. Every error is one line naming the option and
//! the offending text.

use crate::error::{bad, BenchError};
use std::time::Duration;

/// `"64M"`, `"1G"`, `"512k"`, `"4096"`, `"1.5GiB"`, `"0"`: binary units
/// (K = 1024), case-insensitive, optional `B`/`iB` suffix.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let body = lower
        .strip_suffix("ib")
        .or_else(|| lower.strip_suffix('b'))
        .unwrap_or(&lower);
    let split = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (num, unit) = body.split_at(split);
    let mult: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return Err(format!("malformed size {t:?} (use e.g. 0, 64M, 256M, 1G)")),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("malformed size {t:?} (use e.g. 0, 64M, 256M, 1G)"))?;
    let bytes = v * mult as f64;
    if !bytes.is_finite() || bytes > (1u64 << 50) as f64 {
        return Err(format!("size {t:?} is too large"));
    }
    Ok(bytes.round() as u64)
}

/// A comma-separated list of sizes, sorted and deduplicated.
pub fn parse_size_list(s: &str) -> Result<Vec<u64>, String> {
    let mut v = s
        .split(',')
        .map(parse_size)
        .collect::<Result<Vec<_>, _>>()?;
    v.sort_unstable();
    v.dedup();
    Ok(v)
}

/// `"500ms"`, `"2s"`, `"1.5s"`, `"1m"`, `"250us"`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let err = || format!("malformed duration {s:?} (use e.g. 500ms, 2s, 1m)");
    let v: f64 = num.parse().map_err(|_| err())?;
    let secs = match unit {
        "" | "s" => v,
        "ms" => v / 1e3,
        "us" | "µs" => v / 1e6,
        "m" | "min" => v * 60.0,
        _ => return Err(err()),
    };
    if !secs.is_finite() || secs <= 0.0 || secs > 86_400.0 {
        return Err(format!("duration {s:?} must be between 1us and 24h"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A positive integer (underscores allowed: `100_000`).
pub fn parse_positive(opt: &str, s: &str) -> Result<u64, BenchError> {
    let v = parse_count(opt, s)?;
    if v == 0 {
        return Err(bad(format!("{opt} must be at least 1, got {s:?}")));
    }
    Ok(v)
}

/// A whole number from 1 to `max`.
pub fn parse_at_most(opt: &str, s: &str, max: u64) -> Result<u64, BenchError> {
    let v = parse_positive(opt, s)?;
    if v > max {
        return Err(bad(format!("{opt} must be at most {max}, got {s:?}")));
    }
    Ok(v)
}

/// A non-negative integer.
pub fn parse_count(opt: &str, s: &str) -> Result<u64, BenchError> {
    s.trim()
        .replace('_', "")
        .parse::<u64>()
        .map_err(|_| bad(format!("{opt} expects a whole number, got {s:?}")))
}

/// Human form of a byte count: `0`, `64M`, `1G`, `1.5G`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    for (m, u) in UNITS {
        if bytes >= m {
            let v = bytes as f64 / m as f64;
            return if bytes % m == 0 {
                format!("{}{u}", bytes / m)
            } else {
                format!("{v:.1}{u}")
            };
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("64Q").unwrap_err().contains("64Q"));
        assert!(parse_size("").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("-1M").is_err());
        assert_eq!(
            parse_size_list("1G,0,64M,64M"),
            Ok(vec![0, 64 << 20, 1 << 30])
        );
        assert!(parse_size_list("0,,1G").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("2 fortnights").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn counts() {
        assert_eq!(parse_positive("--iterations", "100_000").unwrap(), 100_000);
        let e = parse_positive("--iterations", "0").unwrap_err();
        assert!(matches!(e, BenchError::BadInput(ref m) if m.contains("--iterations")));
        assert!(parse_positive("--iterations", "ten").is_err());
        assert_eq!(parse_at_most("--iterations", "10", 10).unwrap(), 10);
        assert!(parse_at_most("--iterations", "11", 10).is_err());
        assert_eq!(parse_count("--warmup", "0").unwrap(), 0);
    }

    #[test]
    fn size_names() {
        assert_eq!(format_size(0), "0");
        assert_eq!(format_size(64 << 20), "64M");
        assert_eq!(format_size(1 << 30), "1G");
        assert_eq!(format_size(3 << 29), "1.5G");
    }
}
