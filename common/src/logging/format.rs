//! One log line, as text for people or as a JSON object for log shippers, each starting with the
//! UTC time to the millisecond and naming the service it came from.

use std::time::{SystemTime, UNIX_EPOCH};

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// `2026-12-02T05:17:37.123Z INFO  order-2 order::driver: message`.
    #[default]
    Text,
    /// `{"ts":..,"level":..,"service":..,"target":..,"message":..}`, one object a line.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format {other:?} (text, json)")),
        }
    }
}

impl std::fmt::Display for LogFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        })
    }
}

/// The parts of a line, filled in once per record.
pub(crate) struct Line<'a> {
    pub ts: String,
    pub level: log::Level,
    pub service: &'a str,
    pub target: &'a str,
    pub message: String,
}

impl Line<'_> {
    /// The line with its newline; `colour` paints the level (for a terminal only).
    pub(crate) fn render(&self, format: LogFormat, colour: bool) -> String {
        match format {
            LogFormat::Json => {
                let object = serde_json::json!({
                    "ts": self.ts,
                    "level": self.level.as_str(),
                    "service": self.service,
                    "target": self.target,
                    "message": self.message,
                });
                format!("{object}\n")
            }
            LogFormat::Text => {
                let level = format!("{:<5}", self.level.as_str());
                let level = if colour {
                    format!("\x1b[{}m{level}\x1b[0m", ansi_colour(self.level))
                } else {
                    level
                };
                format!(
                    "{} {level} {} {}: {}\n",
                    self.ts, self.service, self.target, self.message
                )
            }
        }
    }
}

fn ansi_colour(level: log::Level) -> &'static str {
    match level {
        log::Level::Error => "31",
        log::Level::Warn => "33",
        log::Level::Info => "32",
        log::Level::Debug => "36",
        log::Level::Trace => "35",
    }
}

/// Now, as RFC 3339 UTC with milliseconds: `2026-12-02T05:17:37.123Z`.
pub(crate) fn timestamp_now() -> String {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    timestamp(since_epoch.as_millis() as i64)
}

fn timestamp(millis: i64) -> String {
    let (days, in_day) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
    let (year, month, day) = civil_from_days(days);
    let seconds = in_day / 1000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        in_day % 1000
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm),
/// so that a timestamp needs no date crate.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T23:59:59.999Z: a leap day, the last millisecond of it.
        assert_eq!(timestamp(1_709_251_199_999), "2024-02-29T23:59:59.999Z");
        assert_eq!(timestamp(1_796_188_657_123), "2026-12-02T05:17:37.123Z");
    }

    #[test]
    fn text_and_json_lines() {
        let line = Line {
            ts: "2026-12-02T05:17:37.123Z".into(),
            level: log::Level::Info,
            service: "order-2",
            target: "order::driver",
            message: "said \"hi\"".into(),
        };
        assert_eq!(
            line.render(LogFormat::Text, false),
            "2026-12-02T05:17:37.123Z INFO  order-2 order::driver: said \"hi\"\n"
        );
        assert!(line
            .render(LogFormat::Text, true)
            .contains("\x1b[32mINFO \x1b[0m"));
        let json: serde_json::Value =
            serde_json::from_str(&line.render(LogFormat::Json, false)).unwrap();
        assert_eq!(json["service"], "order-2");
        assert_eq!(json["message"], "said \"hi\"");
        assert_eq!(json["level"], "INFO");
    }
}
