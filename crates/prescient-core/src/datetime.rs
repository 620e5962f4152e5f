//! Calendar timestamps (`YYYY-MM-DD HH:MM:SS[.f]`, UTC) as exact microseconds since the epoch.
//!
//! Files (NAB, demand traces, CSV exports) write time this way; exact integer microseconds keep
//! two distinct instants apart where seconds in an `f64` could merge them.

/// Parses `YYYY-MM-DD`, optionally followed by `T` or a space and `HH`, `HH:MM`, `HH:MM:SS` or
/// `HH:MM:SS.f` (1 to 6 fraction digits), after trimming surrounding whitespace, as microseconds
/// since 1970-01-01 00:00:00 UTC; `None` for anything else.
///
/// This is the subset of Python's `datetime.fromisoformat` (plus the `%f` fallback of
/// `nab_score.py`) that NAB files use; it rejects out-of-range fields as Python does.
///
/// ```
/// use prescient_core::parse_datetime_micros;
///
/// assert_eq!(parse_datetime_micros("1970-01-02 00:00:01.5"), Some(86_401_500_000));
/// assert_eq!(parse_datetime_micros("2014-02-29"), None);
/// ```
pub fn parse_datetime_micros(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    if year < 1 || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let (mut hour, mut minute, mut second, mut micro) = (0, 0, 0, 0);
    let rest = &b[10..];
    if !rest.is_empty() {
        if rest[0] != b' ' && rest[0] != b'T' {
            return None;
        }
        let t = &rest[1..];
        if t.len() < 2 {
            return None;
        }
        hour = digits(&t[0..2])?;
        let mut t = &t[2..];
        if !t.is_empty() {
            if t.len() < 3 || t[0] != b':' {
                return None;
            }
            minute = digits(&t[1..3])?;
            t = &t[3..];
        }
        if !t.is_empty() {
            if t.len() < 3 || t[0] != b':' {
                return None;
            }
            second = digits(&t[1..3])?;
            t = &t[3..];
        }
        if !t.is_empty() {
            let frac = &t[1..];
            if t[0] != b'.' || frac.is_empty() || frac.len() > 6 {
                return None;
            }
            // "5" means 500000 microseconds, as in Python.
            micro = digits(frac)? * 10_i64.pow(6 - frac.len() as u32);
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + micro)
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0_i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nab_formats() {
        assert_eq!(parse_datetime_micros("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_datetime_micros("1970-01-02"), Some(86_400_000_000));
        assert_eq!(
            parse_datetime_micros("2014-04-01 00:00:00"),
            Some(1_396_310_400_000_000)
        );
        assert_eq!(
            parse_datetime_micros(" 2014-04-01 00:00:00.000000\n"),
            Some(1_396_310_400_000_000)
        );
        assert_eq!(
            parse_datetime_micros("2014-04-01T00:00:01.5"),
            Some(1_396_310_401_500_000)
        );
        assert_eq!(
            parse_datetime_micros("2014-04-01 00:01"),
            Some(1_396_310_460_000_000)
        );
        assert_eq!(
            parse_datetime_micros("2000-02-29 23:59:59.000001"),
            Some(951_868_799_000_001)
        );
        assert_eq!(
            parse_datetime_micros("1969-12-31 23:59:59"),
            Some(-1_000_000)
        );
    }

    #[test]
    fn rejects_what_python_rejects() {
        for bad in [
            "",
            "2014-04-01x00:00:00",
            "2014-13-01 00:00:00",
            "2014-02-29 00:00:00",
            "2014-04-01 24:00:00",
            "2014-04-01 00:60:00",
            "2014-04-01 00:00:60",
            "2014-04-01 00:00:00.",
            "2014-04-01 00:00:00.1234567",
            "2014/04/01 00:00:00",
            "0000-01-01",
            "2014-04-01 0:00:00",
        ] {
            assert_eq!(parse_datetime_micros(bad), None, "{bad:?}");
        }
    }
}
