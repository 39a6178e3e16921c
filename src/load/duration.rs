//! Durations as people write them: `90s`, `5m`, `1h30m`, `250ms`, `none`.

use std::fmt;
use std::time::Duration;

use super::model::Timeout;

/// Why a duration did not parse; the message is shown under the offending token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DurationError(pub String);

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses a timeout: a duration, or `none` for no limit.
pub(crate) fn parse_timeout(text: &str) -> Result<Timeout, DurationError> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") {
        return Ok(Timeout::Never);
    }
    let d = parse_duration(t)?;
    if d.is_zero() {
        return Err(DurationError(
            "a timeout of zero would stop the step at once; write `none` for no limit".into(),
        ));
    }
    Ok(Timeout::After(d))
}

/// Parses a sequence of `<number><unit>` parts, units `ms`, `s`, `m`, `h`, `d`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let bad = || {
        DurationError(format!(
            "`{text}` is not a duration: write a number with a unit, like `90s`, `5m` or `1h30m`"
        ))
    };
    if text.is_empty() {
        return Err(bad());
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut total = Duration::ZERO;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        if start == i {
            return Err(bad());
        }
        let number: f64 = text[start..i].parse().map_err(|_| bad())?;
        let ustart = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let secs = match &text[ustart..i] {
            "ms" => 0.001,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" | "hr" | "hrs" => 3600.0,
            "d" => 86400.0,
            "" if i < bytes.len() => return Err(bad()),
            "" => {
                return Err(DurationError(format!(
                    "`{text}` has no unit: write `{text}s` for seconds or `{text}m` for minutes"
                )));
            }
            _ => return Err(bad()),
        };
        let part = number * secs;
        if !part.is_finite() || part > 1e9 {
            return Err(DurationError(format!("`{text}` is too long a duration")));
        }
        total += Duration::from_secs_f64(part);
    }
    Ok(total)
}

/// Formats a duration the way it is written: `5m`, `1h30m`, `90s` -> `1m30s`, `1.2s`.
pub(crate) fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 && !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    if d.subsec_millis() != 0 || d.as_secs() < 60 {
        let secs = d.as_secs_f64();
        return if d.subsec_millis() == 0 {
            format!("{}s", d.as_secs())
        } else {
            format!("{secs:.1}s")
        };
    }
    let mut s = d.as_secs();
    let mut out = String::new();
    for (unit, n) in [("h", 3600), ("m", 60), ("s", 1)] {
        if s >= n {
            out.push_str(&format!("{}{unit}", s / n));
            s %= n;
        }
    }
    out
}

/// Formats an elapsed time for progress lines and summaries: `0.3s`, `12.4s`, `3m05s`.
pub(crate) fn format_elapsed(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let s = d.as_secs();
        if s < 3600 {
            format!("{}m{:02}s", s / 60, s % 60)
        } else {
            format!("{}h{:02}m{:02}s", s / 3600, s % 3600 / 60, s % 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_timeout("none").unwrap(), Timeout::Never);
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_timeout("0s").is_err());
        assert!(parse_duration("99999999999999h").is_err());
    }

    #[test]
    fn formats() {
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_elapsed(Duration::from_millis(1234)), "1.2s");
    }
}
