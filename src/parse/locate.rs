//! Finding where a value sits in the JSON text, for errors found after parsing.
//!
//! serde reports a line and column only for errors it raises itself (syntax, types). Values
//! that parse but make no sense (an impossible date, a negative duration) are refused later,
//! by `normalize`, which knows the field path but not the position. Operators fixing a file by
//! hand want both, so this walks the text along the path once, only for rejected files.

/// One step of a field path: `participants[1].call_duration` is
/// `Key("participants"), Index(1), Key("call_duration")`.
#[derive(Debug, PartialEq)]
enum Step<'p> {
    Key(&'p str),
    Index(usize),
}

/// Splits `a.b[2][0].c` into steps; `None` if the path is not of that shape.
fn steps(path: &str) -> Option<Vec<Step<'_>>> {
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if key.is_empty() {
            return None;
        }
        steps.push(Step::Key(key));
        while let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']')?;
            steps.push(Step::Index(inner[..end].parse().ok()?));
            rest = &inner[end + 1..];
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(steps)
}

/// The 1-based line and column (in characters) where the value at `path` starts in `text`,
/// or `None` if the path is absent or `text` is not the valid JSON it is assumed to be.
pub fn locate(text: &str, path: &str) -> Option<(u64, u64)> {
    let steps = steps(path)?;
    let bytes = text.as_bytes();
    let mut at = skip_ws(bytes, 0);
    for step in steps {
        at = match step {
            Step::Key(key) => member(bytes, at, key)?,
            Step::Index(index) => element(bytes, at, index)?,
        };
    }
    Some(super::line_column(bytes, at))
}

/// Start of the value of member `key` of the object starting at `at`.
fn member(bytes: &[u8], at: usize, key: &str) -> Option<usize> {
    if *bytes.get(at)? != b'{' {
        return None;
    }
    let mut at = skip_ws(bytes, at + 1);
    while *bytes.get(at)? == b'"' {
        let key_end = skip_string(bytes, at)?;
        // Keys of the format have no escapes, so the raw text between the quotes is the key.
        let found = &bytes[at + 1..key_end - 1] == key.as_bytes();
        at = skip_ws(bytes, key_end);
        if *bytes.get(at)? != b':' {
            return None;
        }
        at = skip_ws(bytes, at + 1);
        if found {
            return Some(at);
        }
        at = skip_ws(bytes, skip_value(bytes, at)?);
        if *bytes.get(at)? == b',' {
            at = skip_ws(bytes, at + 1);
        }
    }
    None
}

/// Start of element `index` of the array starting at `at`.
fn element(bytes: &[u8], at: usize, index: usize) -> Option<usize> {
    if *bytes.get(at)? != b'[' {
        return None;
    }
    let mut at = skip_ws(bytes, at + 1);
    for _ in 0..index {
        if *bytes.get(at)? == b']' {
            return None;
        }
        at = skip_ws(bytes, skip_value(bytes, at)?);
        if *bytes.get(at)? != b',' {
            return None;
        }
        at = skip_ws(bytes, at + 1);
    }
    (*bytes.get(at)? != b']').then_some(at)
}

fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|b| b.is_ascii_whitespace()) {
        at += 1;
    }
    at
}

/// End (exclusive) of the string starting at `at` (on its opening quote).
fn skip_string(bytes: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        match *bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// End (exclusive) of the value starting at `at`.
fn skip_value(bytes: &[u8], at: usize) -> Option<usize> {
    match *bytes.get(at)? {
        b'"' => skip_string(bytes, at),
        b'{' | b'[' => {
            let mut depth = 0_usize;
            let mut i = at;
            loop {
                match *bytes.get(i)? {
                    b'"' => {
                        i = skip_string(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let mut i = at;
            while bytes
                .get(i)
                .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
            {
                i += 1;
            }
            Some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{
  "id": 7,
  "note": "a \"quoted\" [tricky] {value}",
  "participants": [
    {"type": "agent", "call_duration": 1},
    {
      "type": "end_user",
      "call_duration": -5
    }
  ],
  "menu": {"items": [[1, 2], [3, {"deep": "x"}]]}
}"#;

    #[test]
    fn finds_values_through_objects_arrays_and_tricky_strings() {
        assert_eq!(locate(DOC, "id"), Some((2, 9)));
        assert_eq!(locate(DOC, "participants[0].call_duration"), Some((5, 40)));
        assert_eq!(locate(DOC, "participants[1].call_duration"), Some((8, 24)));
        assert_eq!(locate(DOC, "menu.items[1][1].deep"), Some((11, 43)));
    }

    #[test]
    fn absent_paths_and_odd_shapes_give_none() {
        assert_eq!(locate(DOC, "participants[2].type"), None);
        assert_eq!(locate(DOC, "missing"), None);
        assert_eq!(locate(DOC, "id.inner"), None);
        assert_eq!(locate(DOC, "participants[x]"), None);
        assert_eq!(locate(DOC, ""), None);
        assert_eq!(locate("{\"a\": ", "a"), Some((1, 7)));
        assert_eq!(locate("{\"a\": [1,", "a[3]"), None);
    }
}
