//! Opaque cursors over the catalogue's lists. A cursor remembers the keys (name or URI) of
//! the last item served and of the next one, so that a list that changed between pages (the
//! registry adds and removes entries at any time) resumes at the next item wherever it now
//! is, or else right after the last one: no item present all along is skipped or served
//! twice. Only if both are gone does the walk start over (items repeat; none is lost).

use std::ops::Range;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::HandlerError;

/// The items of one page of a list whose item keys are `keys`, starting at `cursor`, and
/// the cursor of the next page.
pub fn page(
    keys: &[String],
    cursor: Option<&str>,
    page_size: usize,
) -> Result<(Range<usize>, Option<String>), HandlerError> {
    let start = match cursor {
        None => 0,
        Some(c) => resume(keys, c).ok_or_else(|| HandlerError::InvalidParams(format!("invalid cursor: {c}")))?,
    };
    let end = start.saturating_add(page_size.max(1)).min(keys.len());
    let next = (end < keys.len()).then(|| encode(&keys[end - 1], &keys[end]));
    Ok((start..end, next))
}

fn encode(last: &str, next: &str) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&[last, next]).unwrap_or_default())
}

/// Where the page after `cursor` starts in the list as it is now.
fn resume(keys: &[String], cursor: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let [last, next]: [String; 2] = serde_json::from_slice(&bytes).ok()?;
    let position = |key: &str| keys.iter().position(|k| k == key);
    Some(position(&next).or_else(|| position(&last).map(|i| i + 1)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &str) -> Vec<String> {
        names.split(' ').map(str::to_owned).collect()
    }

    fn walk(list: &[String], cursor: Option<&str>, size: usize) -> (Vec<String>, Option<String>) {
        let (range, next) = page(list, cursor, size).unwrap();
        (list[range].to_vec(), next)
    }

    #[test]
    fn walks_every_page_and_rejects_bad_cursors() {
        let list = keys("a b c d e f g");
        let (p1, c1) = walk(&list, None, 3);
        assert_eq!(p1, ["a", "b", "c"]);
        let (p2, c2) = walk(&list, c1.as_deref(), 3);
        assert_eq!(p2, ["d", "e", "f"]);
        let (p3, c3) = walk(&list, c2.as_deref(), 3);
        assert_eq!(p3, ["g"]);
        assert!(c3.is_none());
        for bad in ["nope", &URL_SAFE_NO_PAD.encode("[1]"), &URL_SAFE_NO_PAD.encode("o:3")] {
            assert!(page(&list, Some(bad), 3).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_list_that_changes_between_pages_skips_nothing_that_stayed() {
        let (_, cursor) = walk(&keys("a b c d e f"), None, 3);
        // Items added before the cursor's place, one removed after it.
        let (next, _) = walk(&keys("x y a b c d f"), cursor.as_deref(), 3);
        assert_eq!(next, ["d", "f"]);
        // Items removed before it, the last one served among them.
        let (next, _) = walk(&keys("a d e f"), cursor.as_deref(), 3);
        assert_eq!(next, ["d", "e", "f"]);
        // The next item removed: right after the last one served.
        let (next, _) = walk(&keys("a b c e f"), cursor.as_deref(), 3);
        assert_eq!(next, ["e", "f"]);
        // Both gone: from the start again.
        let (next, _) = walk(&keys("a b e f"), cursor.as_deref(), 3);
        assert_eq!(next, ["a", "b", "e"]);
    }
}
