//! Spaced repetition: when each prompt should be practised again, from how well it went.
//!
//! An SM-2-style schedule driven by an answer's overall score (0 to 100) instead of a
//! self-rating: a weak answer comes back later the same day, a good one waits a day, then
//! three, then longer by the prompt's ease, which rises and falls with the scores. Pure: no
//! I/O and no clock; the caller passes `now`, so every rule is tested to the minute.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Where a never-practised prompt's ease starts (SM-2's value).
pub const START_EASE: f64 = 2.5;
/// The ease never falls below this, so even a hard prompt's intervals still grow.
pub const MIN_EASE: f64 = 1.3;
/// The ease never rises above this, so one lucky streak does not hide a prompt for months.
pub const MAX_EASE: f64 = 3.0;
/// An overall below this is not yet learned: the interval starts over.
pub const PASS_SCORE: f64 = 60.0;
/// How soon a failed prompt comes back: later the same day.
pub const RELEARN_DAYS: f64 = 0.25;
/// The interval after the first passing answer in a row.
const FIRST_INTERVAL_DAYS: f64 = 1.0;
/// The interval after the second. Shorter than SM-2's six days: interview preparation is
/// measured in weeks.
const SECOND_INTERVAL_DAYS: f64 = 3.0;
/// No prompt waits longer than this, however easy: the interview is weeks away, not years.
pub const MAX_INTERVAL_DAYS: f64 = 60.0;

/// Where one prompt stands in the schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PracticeState {
    /// How much each passing answer stretches the interval, `MIN_EASE..=MAX_EASE`.
    pub ease: f64,
    /// Days from the last scheduling answer to `due_at`.
    pub interval_days: f64,
    pub due_at: DateTime<Utc>,
    /// The overall of the most recent answer, scheduling or not.
    pub last_score: f64,
    /// Passing answers in a row (0 after a fail).
    pub reps: u32,
    pub last_practiced: DateTime<Utc>,
}

/// The schedule after one more answer to a prompt scoring `overall`.
///
/// - Below [`PASS_SCORE`] the prompt is due again in [`RELEARN_DAYS`] and the run of passes
///   starts over; the ease falls.
/// - A pass after the due time (or the first ever) advances the run: due in 1 day, then 3,
///   then the previous interval times the new ease, at most [`MAX_INTERVAL_DAYS`].
/// - A pass before the due time (another try in the same sitting) is recorded but changes
///   nothing else: answering twice in ten minutes is not twice the evidence.
pub fn next(prev: Option<&PracticeState>, overall: f64, now: DateTime<Utc>) -> PracticeState {
    let score = if overall.is_nan() {
        0.0
    } else {
        overall.clamp(0.0, 100.0)
    };
    let prev_ease = prev.map_or(START_EASE, |p| p.ease);
    let moved_ease = (prev_ease + ease_change(score)).clamp(MIN_EASE, MAX_EASE);

    if score < PASS_SCORE {
        return PracticeState {
            ease: moved_ease,
            interval_days: RELEARN_DAYS,
            due_at: now + days(RELEARN_DAYS),
            last_score: score,
            reps: 0,
            last_practiced: now,
        };
    }
    match prev {
        Some(p) if now < p.due_at => PracticeState {
            last_score: score,
            last_practiced: now,
            ..p.clone()
        },
        _ => {
            let reps = prev.map_or(0, |p| p.reps) + 1;
            let interval = match (reps, prev) {
                (1, _) | (_, None) => FIRST_INTERVAL_DAYS,
                (2, _) => SECOND_INTERVAL_DAYS,
                (_, Some(p)) => p.interval_days * moved_ease,
            }
            .min(MAX_INTERVAL_DAYS);
            PracticeState {
                ease: moved_ease,
                interval_days: interval,
                due_at: now + days(interval),
                last_score: score,
                reps,
                last_practiced: now,
            }
        }
    }
}

/// SM-2's ease update with the score mapped onto its 0 to 5 quality: +0.1 at 100, unchanged
/// at 80, -0.14 at 60, -0.8 at 0.
fn ease_change(score: f64) -> f64 {
    let shortfall = 5.0 - score / 20.0;
    0.1 - shortfall * (0.08 + shortfall * 0.02)
}

fn days(days: f64) -> TimeDelta {
    TimeDelta::milliseconds((days * 86_400_000.0).round() as i64)
}

/// Up to `count` of `candidates`, the most due first.
///
/// A prompt never practised counts as due now. Prompts are ranked by how long ago they fell
/// due (those not yet due rank by how soon they will, so a short list is filled with the
/// nearest); equal standing goes to the lower last score, a never-practised prompt lowest of
/// all, then to the order of `candidates`. Duplicate candidates count once.
pub fn most_due(
    candidates: &[&str],
    states: &HashMap<String, PracticeState>,
    now: DateTime<Utc>,
    count: usize,
) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut ranked: Vec<(i64, Option<f64>, usize, &str)> = candidates
        .iter()
        .enumerate()
        .filter(|(_, id)| seen.insert(**id))
        .map(|(order, id)| match states.get(*id) {
            Some(state) => (
                now.signed_duration_since(state.due_at).num_milliseconds(),
                Some(state.last_score),
                order,
                *id,
            ),
            None => (0, None, order, *id),
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| match (a.1, b.1) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Less,
                (Some(_), None) => std::cmp::Ordering::Greater,
                (Some(x), Some(y)) => x.total_cmp(&y),
            })
            .then_with(|| a.2.cmp(&b.2))
    });
    ranked
        .into_iter()
        .take(count)
        .map(|(_, _, _, id)| id.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
    }

    fn hours(h: f64) -> TimeDelta {
        days(h / 24.0)
    }

    fn state(due_at: DateTime<Utc>, last_score: f64) -> PracticeState {
        PracticeState {
            ease: START_EASE,
            interval_days: 1.0,
            due_at,
            last_score,
            reps: 1,
            last_practiced: due_at - days(1.0),
        }
    }

    #[test]
    fn a_first_good_answer_is_due_again_in_a_day() {
        let s = next(None, 85.0, t0());
        assert_eq!(s.reps, 1);
        assert_eq!(s.interval_days, 1.0);
        assert_eq!(s.due_at, t0() + days(1.0));
        assert_eq!(s.last_practiced, t0());
        assert_eq!(s.last_score, 85.0);
    }

    #[test]
    fn a_second_good_answer_on_time_waits_three_days() {
        let first = next(None, 85.0, t0());
        let second = next(Some(&first), 85.0, first.due_at);
        assert_eq!(second.reps, 2);
        assert_eq!(second.interval_days, 3.0);
        assert_eq!(second.due_at, first.due_at + days(3.0));
    }

    #[test]
    fn later_good_answers_stretch_the_interval_by_the_ease() {
        let first = next(None, 90.0, t0());
        let second = next(Some(&first), 90.0, first.due_at);
        let third = next(Some(&second), 90.0, second.due_at);
        assert_eq!(third.reps, 3);
        assert!((third.interval_days - 3.0 * third.ease).abs() < 1e-9);
        assert!(third.interval_days > second.interval_days);
    }

    #[test]
    fn a_score_below_60_brings_the_prompt_back_within_a_day_and_starts_over() {
        let mut s = next(None, 90.0, t0());
        s = next(Some(&s), 90.0, s.due_at);
        assert_eq!(s.reps, 2);
        let failed = next(Some(&s), 59.0, s.due_at);
        assert_eq!(failed.reps, 0);
        assert_eq!(failed.interval_days, RELEARN_DAYS);
        assert!(failed.due_at - s.due_at < days(1.0));
        assert!(failed.ease < s.ease);
        // The next pass starts the run again at one day.
        let again = next(Some(&failed), 80.0, failed.due_at);
        assert_eq!(again.reps, 1);
        assert_eq!(again.interval_days, 1.0);
    }

    #[test]
    fn exactly_60_passes() {
        let s = next(None, 60.0, t0());
        assert_eq!(s.reps, 1);
        assert_eq!(s.interval_days, 1.0);
    }

    #[test]
    fn ease_rises_after_a_perfect_score_holds_at_80_and_falls_after_a_poor_one() {
        let start = next(None, 80.0, t0());
        assert!((start.ease - START_EASE).abs() < 1e-9);
        let up = next(Some(&start), 100.0, start.due_at);
        assert!((up.ease - (START_EASE + 0.1)).abs() < 1e-9);
        let down = next(Some(&start), 30.0, start.due_at);
        assert!(down.ease < START_EASE);
    }

    #[test]
    fn ease_stays_between_1_3_and_3_0() {
        let mut low = next(None, 0.0, t0());
        let mut high = next(None, 100.0, t0());
        for _ in 0..30 {
            low = next(Some(&low), 0.0, low.due_at);
            high = next(Some(&high), 100.0, high.due_at);
        }
        assert_eq!(low.ease, MIN_EASE);
        assert_eq!(high.ease, MAX_EASE);
    }

    #[test]
    fn the_interval_never_exceeds_sixty_days() {
        let mut s = next(None, 100.0, t0());
        for _ in 0..20 {
            s = next(Some(&s), 100.0, s.due_at);
        }
        assert_eq!(s.interval_days, MAX_INTERVAL_DAYS);
        assert_eq!(s.due_at - s.last_practiced, days(MAX_INTERVAL_DAYS));
    }

    #[test]
    fn another_good_try_before_the_due_time_changes_only_the_last_score() {
        let first = next(None, 70.0, t0());
        let retry = next(Some(&first), 95.0, t0() + hours(1.0));
        assert_eq!(retry.reps, first.reps);
        assert_eq!(retry.interval_days, first.interval_days);
        assert_eq!(retry.due_at, first.due_at);
        assert_eq!(retry.ease, first.ease);
        assert_eq!(retry.last_score, 95.0);
        assert_eq!(retry.last_practiced, t0() + hours(1.0));
    }

    #[test]
    fn a_failed_try_before_the_due_time_still_starts_over() {
        let mut s = next(None, 90.0, t0());
        s = next(Some(&s), 90.0, s.due_at);
        let early = s.due_at - days(1.0);
        let failed = next(Some(&s), 20.0, early);
        assert_eq!(failed.reps, 0);
        assert_eq!(failed.due_at, early + days(RELEARN_DAYS));
    }

    #[test]
    fn scores_outside_0_to_100_are_clamped_and_nan_counts_as_0() {
        assert_eq!(next(None, 140.0, t0()).last_score, 100.0);
        assert_eq!(next(None, -5.0, t0()).last_score, 0.0);
        let nan = next(None, f64::NAN, t0());
        assert_eq!(nan.last_score, 0.0);
        assert_eq!(nan.reps, 0);
    }

    #[test]
    fn the_most_overdue_prompt_comes_first() {
        let states = HashMap::from([
            ("a".to_string(), state(t0() - days(1.0), 50.0)),
            ("b".to_string(), state(t0() - days(3.0), 90.0)),
            ("c".to_string(), state(t0() - hours(2.0), 10.0)),
        ]);
        assert_eq!(
            most_due(&["a", "b", "c"], &states, t0(), 3),
            ["b", "a", "c"]
        );
    }

    #[test]
    fn a_never_practised_prompt_counts_as_due_now() {
        let states = HashMap::from([
            ("overdue".to_string(), state(t0() - hours(1.0), 90.0)),
            ("later".to_string(), state(t0() + hours(1.0), 10.0)),
        ]);
        assert_eq!(
            most_due(&["later", "new", "overdue"], &states, t0(), 3),
            ["overdue", "new", "later"]
        );
    }

    #[test]
    fn equally_overdue_prompts_go_lowest_last_score_first_and_never_practised_before_all() {
        let due = t0();
        let states = HashMap::from([
            ("good".to_string(), state(due, 80.0)),
            ("weak".to_string(), state(due, 40.0)),
        ]);
        assert_eq!(
            most_due(&["good", "weak", "new"], &states, t0(), 3),
            ["new", "weak", "good"]
        );
    }

    #[test]
    fn full_ties_keep_the_candidates_order_and_duplicates_count_once() {
        let states = HashMap::new();
        assert_eq!(
            most_due(&["z", "a", "z", "m"], &states, t0(), 10),
            ["z", "a", "m"]
        );
    }

    #[test]
    fn when_few_are_due_the_soonest_due_fill_the_list_up_to_count() {
        let states = HashMap::from([
            ("week".to_string(), state(t0() + days(7.0), 90.0)),
            ("tomorrow".to_string(), state(t0() + days(1.0), 90.0)),
            ("month".to_string(), state(t0() + days(30.0), 90.0)),
        ]);
        assert_eq!(
            most_due(&["week", "tomorrow", "month"], &states, t0(), 2),
            ["tomorrow", "week"]
        );
        assert!(most_due(&["week"], &states, t0(), 0).is_empty());
    }
}
