//! Which backups a retention policy removes. The newest backup whose latest verification
//! passed is never removed; while no backup has passed one, nothing is removed at all (a
//! backup never verified is a hope, and pruning on hope could leave none that restores).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Keep this many of the newest backups.
    pub keep_last: usize,
    /// Also keep every backup younger than this many days.
    pub keep_days: Option<u32>,
}

/// One backup as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub created_at: jiff::Timestamp,
    pub verified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub remove: Vec<String>,
    /// Kept, with why.
    pub keep: Vec<(String, &'static str)>,
}

pub fn decide(candidates: &[Candidate], policy: Policy, now: jiff::Timestamp) -> Decision {
    let mut newest_first: Vec<&Candidate> = candidates.iter().collect();
    newest_first.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    let newest_verified = newest_first
        .iter()
        .find(|c| c.verified)
        .map(|c| c.id.clone());
    let mut decision = Decision {
        remove: Vec::new(),
        keep: Vec::new(),
    };
    for (index, candidate) in newest_first.iter().enumerate() {
        let young = policy.keep_days.is_some_and(|days| {
            now.duration_since(candidate.created_at).as_secs() < i64::from(days) * 86_400
        });
        let reason = if Some(&candidate.id) == newest_verified.as_ref() {
            Some("newest verified")
        } else if newest_verified.is_none() {
            Some("no backup verified yet")
        } else if index < policy.keep_last {
            Some("among the newest")
        } else if young {
            Some("within the age limit")
        } else {
            None
        };
        match reason {
            Some(why) => decision.keep.push((candidate.id.clone(), why)),
            None => decision.remove.push(candidate.id.clone()),
        }
    }
    decision
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn at(day: u32) -> jiff::Timestamp {
        format!("2026-01-{day:02}T02:00:00Z").parse().unwrap()
    }

    fn candidate(day: u32, verified: bool) -> Candidate {
        Candidate {
            id: format!("prod-{day:02}"),
            created_at: at(day),
            verified,
        }
    }

    #[test]
    fn keeps_the_newest_and_the_newest_verified() {
        let backups = [
            candidate(1, true),
            candidate(2, true),
            candidate(3, false),
            candidate(4, false),
            candidate(5, false),
        ];
        let policy = Policy {
            keep_last: 2,
            keep_days: None,
        };
        let d = decide(&backups, policy, at(6));
        assert_eq!(d.remove, vec!["prod-03", "prod-01"]);
        assert_eq!(
            d.keep,
            vec![
                ("prod-05".to_string(), "among the newest"),
                ("prod-04".to_string(), "among the newest"),
                ("prod-02".to_string(), "newest verified"),
            ]
        );
    }

    #[test]
    fn age_limit_keeps_young_backups() {
        let backups = [candidate(1, true), candidate(8, false), candidate(9, false)];
        let policy = Policy {
            keep_last: 1,
            keep_days: Some(3),
        };
        let d = decide(&backups, policy, at(10));
        assert!(d.remove.is_empty(), "{d:?}");
        let d = decide(&backups, policy, at(12));
        assert_eq!(d.remove, vec!["prod-08"]);
    }

    #[test]
    fn nothing_is_removed_before_any_verification_passed() {
        let backups = [
            candidate(1, false),
            candidate(2, false),
            candidate(3, false),
        ];
        let policy = Policy {
            keep_last: 1,
            keep_days: None,
        };
        assert!(decide(&backups, policy, at(4)).remove.is_empty());
    }
}
