//! Full and partial dates ("2021", "2021-12", "2021-12-05") and a parser for the ways fact-checks write them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A calendar date that may lack its day, or its month and day.
///
/// Written as `YYYY`, `YYYY-MM` or `YYYY-MM-DD`; parsed from those, from ISO timestamps and
/// from English prose such as PolitiFact's "stated on October 22, 2019 in a campaign mailer".
///
/// ```
/// use claimdex::PartialDate;
/// let d: PartialDate = "stated on October 22, 2019 in a campaign mailer.:".parse().unwrap();
/// assert_eq!(d.to_string(), "2019-10-22");
/// assert_eq!("2021-12".parse::<PartialDate>().unwrap().to_string(), "2021-12");
/// assert!("2021-02-30".parse::<PartialDate>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartialDate {
    /// The year.
    pub year: i32,
    /// The month, 1-12.
    pub month: Option<u8>,
    /// The day of the month; only present with a month.
    pub day: Option<u8>,
}

/// English month names, lowercase, January first.
pub const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_from_word(w: &str) -> Option<u8> {
    let w = w.trim_end_matches('.').to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    if w == "sept" {
        return Some(9);
    }
    MONTHS.iter().position(|m| m.starts_with(w.as_str())).map(|i| i as u8 + 1)
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

/// Why a date could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateError(pub String);

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DateError {}

impl PartialDate {
    /// A checked date; fails on month 13, February 30 and the like.
    pub fn new(year: i32, month: Option<u8>, day: Option<u8>) -> Result<Self, DateError> {
        if !(1000..=9999).contains(&year) {
            return Err(DateError(format!("year {year} is out of range")));
        }
        if let Some(m) = month {
            if !(1..=12).contains(&m) {
                return Err(DateError(format!("month {m} does not exist")));
            }
            if let Some(d) = day {
                if d == 0 || d > days_in_month(year, m) {
                    return Err(DateError(format!("{year}-{m:02}-{d:02} does not exist")));
                }
            }
        } else if day.is_some() {
            return Err(DateError("a day needs a month".into()));
        }
        Ok(PartialDate { year, month, day })
    }

    /// A full date.
    pub fn ymd(year: i32, month: u8, day: u8) -> Result<Self, DateError> {
        Self::new(year, Some(month), Some(day))
    }

    /// Days since 1970-01-01 of the first day this date covers.
    pub fn first_day(&self) -> i64 {
        days_from_civil(self.year, self.month.unwrap_or(1), self.day.unwrap_or(1))
    }

    /// Days since 1970-01-01 of the last day this date covers.
    pub fn last_day(&self) -> i64 {
        match (self.month, self.day) {
            (Some(m), Some(d)) => days_from_civil(self.year, m, d),
            (Some(m), None) => days_from_civil(self.year, m, days_in_month(self.year, m)),
            _ => days_from_civil(self.year, 12, 31),
        }
    }

    /// The full date of a day number (days since 1970-01-01).
    pub fn from_days(days: i64) -> PartialDate {
        let (y, m, d) = civil_from_days(days);
        PartialDate { year: y, month: Some(m), day: Some(d) }
    }

    /// Today's date (UTC).
    pub fn today() -> PartialDate {
        let secs =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        PartialDate::from_days(secs.div_euclid(86_400))
    }

    /// Finds a date in free text: ISO forms, "October 22, 2019", "Dec. 5, 2021", "5 December 2021",
    /// "December 2021", or a bare year as a last resort.
    pub fn parse_text(text: &str) -> Result<Self, DateError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(DateError("empty date".into()));
        }
        if let Some(d) = parse_iso(t)? {
            return Ok(d);
        }
        let words: Vec<&str> =
            t.split(|c: char| c.is_whitespace() || c == ',' || c == '/').filter(|w| !w.is_empty()).collect();
        let num = |w: &str| -> Option<u32> {
            let w = w.trim_end_matches(|c: char| !c.is_ascii_digit());
            let w = w.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let digits = w.trim_end_matches(['s', 't', 'n', 'd', 'r', 'h']);
            if !digits.is_empty() && digits.len() <= 4 && digits.chars().all(|c| c.is_ascii_digit()) {
                digits.parse().ok()
            } else {
                None
            }
        };
        for (i, w) in words.iter().enumerate() {
            if let Some(m) = month_from_word(w.trim_matches(|c: char| !c.is_alphanumeric() && c != '.')) {
                // Month Day, Year
                let next = words.get(i + 1).and_then(|w| num(w));
                let next2 = words.get(i + 2).and_then(|w| num(w));
                match (next, next2) {
                    (Some(d), Some(y)) if d <= 31 && y >= 1000 => {
                        return PartialDate::new(y as i32, Some(m), Some(d as u8));
                    }
                    (Some(y), _) if y >= 1000 => {
                        // Month Year, unless preceded by a day: Day Month Year
                        if let Some(d) = i.checked_sub(1).and_then(|p| num(words[p])) {
                            if (1..=31).contains(&d) {
                                return PartialDate::new(y as i32, Some(m), Some(d as u8));
                            }
                        }
                        return PartialDate::new(y as i32, Some(m), None);
                    }
                    _ => {}
                }
            }
        }
        // A bare four-digit year.
        for w in &words {
            let w = w.trim_matches(|c: char| !c.is_ascii_digit());
            if w.len() == 4 {
                if let Ok(y) = w.parse::<i32>() {
                    if (1000..=2999).contains(&y) {
                        return PartialDate::new(y, None, None);
                    }
                }
            }
        }
        Err(DateError(format!("no date found in {t:?}")))
    }
}

fn parse_iso(t: &str) -> Result<Option<PartialDate>, DateError> {
    let head: String = t.chars().take(10).collect();
    let b = head.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(|c| c.is_ascii_digit()));
    if !digits(0..4) || (b.len() > 4 && b[4] != b'-') {
        return Ok(None);
    }
    // The rest after the date part may only be a time.
    let year: i32 = head[0..4].parse().map_err(|_| DateError("bad year".into()))?;
    if b.len() == 4 {
        return if t.len() == 4 { PartialDate::new(year, None, None).map(Some) } else { Ok(None) };
    }
    if !digits(5..7) {
        return Ok(None);
    }
    let month: u8 = head[5..7].parse().map_err(|_| DateError("bad month".into()))?;
    if b.len() == 7 {
        return if t.len() == 7 { PartialDate::new(year, Some(month), None).map(Some) } else { Ok(None) };
    }
    if b[7] != b'-' || !digits(8..10) {
        return Ok(None);
    }
    let day: u8 = head[8..10].parse().map_err(|_| DateError("bad day".into()))?;
    PartialDate::new(year, Some(month), Some(day)).map(Some)
}

// Howard Hinnant's civil-date algorithms.
fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = if m <= 2 { y as i64 - 1 } else { y as i64 };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i32, u8, u8) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
            if let Some(d) = self.day {
                write!(f, "-{d:02}")?;
            }
        }
        Ok(())
    }
}

impl FromStr for PartialDate {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PartialDate::parse_text(s)
    }
}

impl Serialize for PartialDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PartialDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        s.parse::<PartialDate>().map(|d| d.to_string()).unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn parses_the_forms_fact_checks_use() {
        assert_eq!(p("2021-12-05"), "2021-12-05");
        assert_eq!(p("2021-12-05T10:11:12Z"), "2021-12-05");
        assert_eq!(p("2021-12"), "2021-12");
        assert_eq!(p("2021"), "2021");
        assert_eq!(p("stated on October 22, 2019 in a campaign mailer.:"), "2019-10-22");
        assert_eq!(p("December 5, 2021"), "2021-12-05");
        assert_eq!(p("Dec. 5, 2021"), "2021-12-05");
        assert_eq!(p("Sept. 13, 2021"), "2021-09-13");
        assert_eq!(p("5 December 2021"), "2021-12-05");
        assert_eq!(p("December 2021"), "2021-12");
        assert_eq!(p("January 14, 2020"), "2020-01-14");
        assert_eq!(p("in 2019, a tweet"), "2019");
    }

    #[test]
    fn rejects_dates_that_do_not_exist() {
        assert!(p("2021-02-30").starts_with("ERR"));
        assert!(p("2021-13-01").starts_with("ERR"));
        assert!(p("February 30, 2021").starts_with("ERR"));
        assert!(p("").starts_with("ERR"));
        assert!(p("no date here").starts_with("ERR"));
        assert_eq!(p("February 29, 2020"), "2020-02-29");
    }

    #[test]
    fn day_numbers_round_trip() {
        let d = PartialDate::ymd(2021, 12, 5).unwrap();
        assert_eq!(PartialDate::from_days(d.first_day()), d);
        assert_eq!(PartialDate::ymd(1970, 1, 1).unwrap().first_day(), 0);
        let m = PartialDate::new(2020, Some(2), None).unwrap();
        assert_eq!(m.last_day() - m.first_day(), 28);
    }
}
