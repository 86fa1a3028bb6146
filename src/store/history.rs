//! Progress over time: the completed answers to each prompt, oldest first.

use serde::{Deserialize, Serialize};

use super::{sql, Store, StoreError};

/// One completed answer in a prompt's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPoint {
    pub session_id: String,
    pub prompt_id: String,
    pub category: String,
    /// When the answer started, RFC 3339.
    pub at: String,
    pub overall: f64,
    pub wpm: f64,
    /// The coverage score, 0 to 100.
    pub coverage: f64,
    /// The delivery score, 0 to 100, when the audio was measured.
    #[serde(default)]
    pub delivery: Option<f64>,
    /// How much the pitch moved (semitones): below 0.9 is a monotone.
    #[serde(default)]
    pub pitch_spread: Option<f64>,
}

impl Store {
    /// Completed answers, oldest first, to one prompt or to all. Answers to follow-up
    /// questions are left out: they answer a different question than the prompt's own.
    pub fn history(&self, prompt: Option<&str>) -> Result<Vec<HistoryPoint>, StoreError> {
        let db = &self.db_path;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT session_id, prompt_id, category, started_at, overall,
                        json_extract(scorecard_json, '$.wpm'),
                        json_extract(scorecard_json, '$.coverage.score'),
                        json_extract(scorecard_json, '$.delivery.score'),
                        json_extract(scorecard_json, '$.delivery.pitch.spread_semitones')
                 FROM answers
                 WHERE status = 'complete' AND follow_up_of IS NULL
                   AND (?1 IS NULL OR prompt_id = ?1)
                 ORDER BY julianday(started_at), id",
            )
            .map_err(sql(db))?;
        let rows = stmt
            .query_map([prompt], |row| {
                Ok(HistoryPoint {
                    session_id: row.get(0)?,
                    prompt_id: row.get(1)?,
                    category: row.get(2)?,
                    at: row.get(3)?,
                    overall: row.get(4)?,
                    wpm: row.get::<_, Option<f64>>(5)?.unwrap_or(0.0),
                    coverage: row.get::<_, Option<f64>>(6)?.unwrap_or(0.0),
                    delivery: row.get(7)?,
                    pitch_spread: row.get(8)?,
                })
            })
            .map_err(sql(db))?;
        rows.collect::<Result<_, _>>().map_err(sql(db))
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_support::{answered, new_answer, open};

    #[test]
    fn history_is_oldest_first_completed_only_and_filters_by_prompt() {
        let (_dir, mut store) = open();
        let session = store.create_session(None).unwrap();
        answered(&mut store, &session, "p", 40.0);
        answered(&mut store, &session, "q", 90.0);
        store
            .start_answer(new_answer(&store, &session, "p", 2))
            .unwrap();
        answered(&mut store, &session, "p", 75.0);

        let all = store.history(None).unwrap();
        let seen: Vec<(&str, f64)> = all
            .iter()
            .map(|h| (h.prompt_id.as_str(), h.overall))
            .collect();
        assert_eq!(seen, [("p", 40.0), ("q", 90.0), ("p", 75.0)]);
        assert!(all
            .iter()
            .all(|h| h.session_id == session && h.category == "culture"));
        assert!(all[0].wpm > 0.0);
        assert_eq!(all[0].coverage, 100.0);
        let p: Vec<f64> = store
            .history(Some("p"))
            .unwrap()
            .iter()
            .map(|h| h.overall)
            .collect();
        assert_eq!(p, [40.0, 75.0]);
    }
}
