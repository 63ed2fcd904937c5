//! Keyset paging over event tables, newest first: a page ends at an event, and the next page
//! starts strictly after it in (time, id) order. Unlike an offset, it costs the same on page 1,000
//! as on page 1 and skips or repeats nothing while new events arrive. Ties in time are common
//! (a batch of signing events is recorded with one time), hence the id.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::ServiceError;

/// The last event of a page: the next page holds the events before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyset {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Keyset {
    /// The form used in links, `<RFC 3339 time with microseconds>_<uuid>`: readable, and free of
    /// characters a URL query needs to escape.
    pub fn encode(&self) -> String {
        format!(
            "{}_{}",
            self.at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
            self.id.as_hyphenated()
        )
    }

    pub fn parse(s: &str) -> Result<Self, ServiceError> {
        let invalid = || ServiceError::Invalid(format!("{s:?} is not a page position"));
        let (at, id) = s.trim().split_once('_').ok_or_else(invalid)?;
        Ok(Self {
            at: DateTime::parse_from_rfc3339(at)
                .map_err(|_| invalid())?
                .with_timezone(&Utc),
            id: Uuid::parse_str(id).map_err(|_| invalid())?,
        })
    }
}

/// How many rows a page shows unless the caller asks for fewer (or more, up to [`MAX_PAGE`]).
pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 200;

/// The page size a caller asked for, kept within 1..=[`MAX_PAGE`].
pub fn page_size(asked: Option<u32>) -> i64 {
    asked.map_or(DEFAULT_PAGE, |n| i64::from(n).clamp(1, MAX_PAGE))
}

/// Splits `limit + 1` fetched rows into the page and the position of the next one, if there is
/// a next one.
pub fn split_page<T>(
    mut rows: Vec<T>,
    limit: i64,
    position: impl Fn(&T) -> Keyset,
) -> (Vec<T>, Option<Keyset>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(position);
        (rows, next)
    } else {
        (rows, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_survives_its_text_form_to_the_microsecond() {
        let k = Keyset {
            at: DateTime::parse_from_rfc3339("2026-11-25T10:00:00.123456Z")
                .unwrap()
                .with_timezone(&Utc),
            id: Uuid::now_v7(),
        };
        assert_eq!(Keyset::parse(&k.encode()).unwrap(), k);
        assert!(Keyset::parse("yesterday").is_err());
        assert!(Keyset::parse("2026-11-25T10:00:00Z_nope").is_err());
    }

    #[test]
    fn a_page_knows_whether_another_follows() {
        let at = Utc::now();
        let rows: Vec<Keyset> = (0..3)
            .map(|_| Keyset {
                at,
                id: Uuid::now_v7(),
            })
            .collect();
        let (page, next) = split_page(rows.clone(), 2, |k| *k);
        assert_eq!(page.len(), 2);
        assert_eq!(next, Some(rows[1]));
        let (page, next) = split_page(rows, 3, |k| *k);
        assert_eq!((page.len(), next), (3, None));
        assert_eq!(page_size(None), DEFAULT_PAGE);
        assert_eq!(page_size(Some(0)), 1);
        assert_eq!(page_size(Some(10_000)), MAX_PAGE);
    }
}
