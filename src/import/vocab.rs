//! Whisper's vocabulary: CTranslate2 stores GPT-2 byte-level text (one printable character
//! per byte), whisper.cpp wants each token's raw bytes.
//!
//! whisper.cpp's published files hold the text tokens up to and including `<|endoftext|>`
//! (50257 for English-only models); whisper.cpp names the remaining special tokens itself.

/// The special token that ends the text tokens whisper.cpp reads from the file.
pub const END_OF_TEXT: &str = "<|endoftext|>";

/// GPT-2's `bytes_to_unicode` inverted: the byte each printable character stands for.
///
/// Printable Latin-1 bytes (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) stand for themselves; the other 68
/// bytes, in increasing order, are shifted to U+0100 onwards.
fn char_to_byte(c: char) -> Option<u8> {
    let code = c as u32;
    let printable = |b: u32| {
        (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b)
    };
    if printable(code) {
        return Some(code as u8);
    }
    let shifted = code.checked_sub(0x100)?;
    (0u32..=255)
        .filter(|&b| !printable(b))
        .nth(shifted as usize)
        .map(|b| b as u8)
}

/// One token's raw bytes, or the character that is not part of the byte-level alphabet.
pub fn token_bytes(token: &str) -> Result<Vec<u8>, char> {
    token.chars().map(|c| char_to_byte(c).ok_or(c)).collect()
}

/// Tokens of `vocabulary.txt` (one per line) or `vocabulary.json` (a JSON list).
pub fn parse(file_name: &str, text: &str) -> Result<Vec<String>, String> {
    if file_name.ends_with(".json") {
        return serde_json::from_str(text)
            .map_err(|e| format!("is not a JSON list of tokens: {e}"));
    }
    let mut tokens: Vec<String> = text.split('\n').map(str::to_owned).collect();
    if tokens.last().is_some_and(String::is_empty) {
        tokens.pop();
    }
    Ok(tokens)
}

/// The raw bytes of every token whisper.cpp reads from the file.
pub fn ggml_tokens(tokens: &[String]) -> Result<Vec<Vec<u8>>, String> {
    let end = tokens
        .iter()
        .position(|t| t == END_OF_TEXT)
        .ok_or_else(|| format!("has no {END_OF_TEXT} token; it is not a Whisper vocabulary"))?;
    tokens[..=end]
        .iter()
        .enumerate()
        .map(|(id, token)| {
            if id == end {
                return Ok(token.as_bytes().to_vec());
            }
            token_bytes(token).map_err(|c| {
                format!("token {id} ({token:?}) has {c:?}, which is not GPT-2 byte-level text")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_has_exactly_one_character() {
        let chars: Vec<char> = (0x21..0x200).filter_map(char::from_u32).collect();
        let mut seen = [0; 256];
        for c in chars {
            if let Some(b) = char_to_byte(c) {
                seen[b as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "{seen:?}");
    }

    #[test]
    fn byte_level_text_maps_back_to_raw_bytes() {
        // Ġ is the space, Ċ the newline, ĉ the tab; Ã© is "é" in UTF-8.
        assert_eq!(token_bytes("Ġthe").unwrap(), b" the");
        assert_eq!(token_bytes("Ċ").unwrap(), b"\n");
        assert_eq!(token_bytes("ĉ").unwrap(), b"\t");
        assert_eq!(token_bytes("Ā").unwrap(), [0u8]);
        assert_eq!(token_bytes("Ã©").unwrap(), "é".as_bytes());
        assert_eq!(token_bytes("Ń").unwrap(), [0xad]);
        assert_eq!(token_bytes("日"), Err('日'));
    }

    #[test]
    fn tokens_stop_after_end_of_text() {
        let tokens = parse(
            "vocabulary.txt",
            "a\nĠb\n<|endoftext|>\n<|startoftranscript|>\n",
        )
        .unwrap();
        assert_eq!(tokens.len(), 4);
        let bytes = ggml_tokens(&tokens).unwrap();
        assert_eq!(
            bytes,
            vec![
                b"a".to_vec(),
                b" b".to_vec(),
                END_OF_TEXT.as_bytes().to_vec()
            ]
        );
        assert!(ggml_tokens(&tokens[..2])
            .unwrap_err()
            .contains("not a Whisper"));
        let json = parse("vocabulary.json", r#"["a", "<|endoftext|>"]"#).unwrap();
        assert_eq!(json, ["a", END_OF_TEXT]);
    }
}
