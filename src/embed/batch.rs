//! Grouping texts into padded batches, so a whole answer is a few rectangular forward passes.
//!
//! Texts are sorted by length before grouping, so each batch pads only to its own longest
//! text: a hundred ten-word windows cost a hundred short rows, not a hundred 256-piece ones.

/// The padded size (texts × word pieces) one forward pass may reach: big enough that the
/// matrix products run at full speed, small enough that attention scores of long texts
/// (texts × 12 heads × width²) stay a few tens of megabytes.
pub const MAX_BATCH_PIECES: usize = 4096;

/// The id written into padding. Padding is masked out of attention and out of the mean, so
/// its value never reaches an embedding; 0 is `[PAD]` in the model's vocabulary.
const PADDING_ID: u32 = 0;

/// One forward pass: `members.len()` rows of `width` word pieces each.
#[derive(Debug, PartialEq)]
pub struct Batch {
    /// Which input text each row is, so results go back in input order.
    pub members: Vec<usize>,
    /// The longest text's length in this batch; shorter rows are padded to it.
    pub width: usize,
    /// Row-major word-piece ids, `members.len() * width` of them.
    pub ids: Vec<u32>,
    /// 1 for a real word piece, 0 for padding; same layout as `ids`.
    pub mask: Vec<u32>,
}

/// Splits `sequences` into batches of similar length, each at most `max_pieces` padded pieces
/// (a single text longer than that still gets a batch of its own).
pub fn batches(sequences: &[Vec<u32>], max_pieces: usize) -> Vec<Batch> {
    let mut order: Vec<usize> = (0..sequences.len()).collect();
    order.sort_by_key(|&i| sequences[i].len());

    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for i in order {
        // Sorted ascending, so this text is the widest the group would have.
        let width = sequences[i].len();
        if !current.is_empty() && (current.len() + 1) * width > max_pieces {
            groups.push(std::mem::take(&mut current));
        }
        current.push(i);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups.into_iter().map(|g| pad(sequences, g)).collect()
}

fn pad(sequences: &[Vec<u32>], members: Vec<usize>) -> Batch {
    let width = members
        .iter()
        .map(|&i| sequences[i].len())
        .max()
        .unwrap_or(0);
    let mut ids = Vec::with_capacity(members.len() * width);
    let mut mask = Vec::with_capacity(members.len() * width);
    for &i in &members {
        let row = &sequences[i];
        ids.extend_from_slice(row);
        ids.resize(ids.len() + width - row.len(), PADDING_ID);
        mask.resize(mask.len() + row.len(), 1);
        mask.resize(mask.len() + width - row.len(), 0);
    }
    Batch {
        members,
        width,
        ids,
        mask,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_padded_to_the_batch_longest_and_masked() {
        let sequences = vec![vec![101, 7, 8, 102], vec![101, 9, 102]];
        let batches = batches(&sequences, 100);
        assert_eq!(
            batches,
            vec![Batch {
                members: vec![1, 0],
                width: 4,
                ids: vec![101, 9, 102, 0, 101, 7, 8, 102],
                mask: vec![1, 1, 1, 0, 1, 1, 1, 1],
            }]
        );
    }

    #[test]
    fn batches_split_at_the_piece_budget_and_keep_every_text_once() {
        let sequences: Vec<Vec<u32>> = (1..=10).map(|n| vec![5; n]).collect();
        let batches = batches(&sequences, 12);
        for b in &batches {
            assert!(
                b.members.len() == 1 || b.members.len() * b.width <= 12,
                "{b:?}"
            );
        }
        let mut seen: Vec<usize> = batches.iter().flat_map(|b| b.members.clone()).collect();
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_text_longer_than_the_budget_gets_its_own_batch() {
        let sequences = vec![vec![1; 3], vec![1; 50]];
        let widths: Vec<usize> = batches(&sequences, 10).iter().map(|b| b.width).collect();
        assert_eq!(widths, vec![3, 50]);
    }

    #[test]
    fn no_texts_make_no_batches() {
        assert!(batches(&[], 10).is_empty());
    }
}
