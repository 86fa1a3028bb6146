//! Whether the answer answers this question: the meaning stage measured how close the whole
//! answer comes to this question and to every other question of the bank (a free source of
//! answers to something else); this rule judges it.

use serde::{Deserialize, Serialize};

use crate::meaning::TopicMatch;

/// How far the closest other question may come above this one before the answer starts to
/// count as an answer to it, when the two questions have nothing in common. Story questions
/// overlap (a conflict story is often a deadline story too): the margin grows with how close
/// the other question is to this one, by `MARGIN_PER_LIKENESS` per unit of similarity above
/// `LIKENESS_FLOOR`.
const MARGIN: f64 = 0.15;
const MARGIN_PER_LIKENESS: f64 = 0.25;
const LIKENESS_FLOOR: f64 = 0.5;
/// Past the margin by this much, the answer is wholly about the other question.
const FADE: f64 = 0.10;
/// Questions at least this alike ask the same thing: an answer to one answers the other.
const SAME_QUESTION: f64 = 0.9;

/// The verdict on whether the answer answers its question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicVerdict {
    /// Similarity of the answer to its own question.
    pub own: f64,
    /// The other question it comes closest to, and how close.
    pub closest_prompt: String,
    pub closest_text: String,
    pub closest: f64,
    /// 1 when the answer is about this question, down to 0 when it answers the other one.
    pub factor: f64,
    /// It sounds like an answer to the other question.
    pub off_topic: bool,
}

/// Judges the topic match; `None` when nothing was compared (no sentence-embedding model).
pub fn judge(topic: Option<&TopicMatch>) -> Option<TopicVerdict> {
    let topic = topic?;
    let other = topic.closest.first()?;
    let own = f64::from(topic.own);
    let closest = f64::from(other.similarity);
    let likeness = f64::from(other.to_this_question);
    let margin = MARGIN + MARGIN_PER_LIKENESS * (likeness - LIKENESS_FLOOR).max(0.0);
    let past = closest - own - margin;
    let factor = if likeness >= SAME_QUESTION {
        1.0
    } else {
        (1.0 - past / FADE).clamp(0.0, 1.0)
    };
    Some(TopicVerdict {
        own: round3(own),
        closest_prompt: other.prompt_id.clone(),
        closest_text: other.text.clone(),
        closest: round3(closest),
        factor,
        off_topic: factor < 0.5,
    })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meaning::OtherQuestion;

    fn topic(own: f32, other: f32, likeness: f32) -> TopicMatch {
        TopicMatch {
            own,
            closest: vec![OtherQuestion {
                prompt_id: "other".into(),
                text: "Another question?".into(),
                similarity: other,
                to_this_question: likeness,
            }],
        }
    }

    #[test]
    fn an_answer_close_to_its_own_question_keeps_everything() {
        let v = judge(Some(&topic(0.7, 0.74, 0.6))).unwrap();
        assert_eq!(v.factor, 1.0);
        assert!(!v.off_topic);
    }

    #[test]
    fn an_answer_far_closer_to_another_question_is_off_topic() {
        let v = judge(Some(&topic(0.3, 0.8, 0.4))).unwrap();
        assert_eq!(v.factor, 0.0);
        assert!(v.off_topic);
        assert_eq!(v.closest_prompt, "other");
    }

    #[test]
    fn a_question_like_this_one_needs_a_wider_gap() {
        assert!(judge(Some(&topic(0.5, 0.8, 0.3))).unwrap().off_topic);
        assert!(!judge(Some(&topic(0.55, 0.75, 0.85))).unwrap().off_topic);
        assert!(!judge(Some(&topic(0.2, 0.9, 0.95))).unwrap().off_topic);
    }

    #[test]
    fn without_a_comparison_there_is_no_verdict() {
        assert_eq!(judge(None), None);
    }
}
