//! Opaque cursors over the catalogue's lists.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::HandlerError;

/// One page of `items` starting at `cursor`, and the cursor of the next page.
pub fn page<'a, T>(
    items: &'a [T],
    cursor: Option<&str>,
    page_size: usize,
) -> Result<(&'a [T], Option<String>), HandlerError> {
    let start = match cursor {
        None => 0,
        Some(c) => decode(c)
            .filter(|&s| s <= items.len())
            .ok_or_else(|| HandlerError::InvalidParams(format!("invalid cursor: {c}")))?,
    };
    let end = start.saturating_add(page_size.max(1)).min(items.len());
    let next = (end < items.len()).then(|| encode(end));
    Ok((&items[start..end], next))
}

fn encode(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

fn decode(cursor: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    std::str::from_utf8(&bytes).ok()?.strip_prefix("o:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_every_page_and_rejects_bad_cursors() {
        let items: Vec<u32> = (0..7).collect();
        let (p1, c1) = page(&items, None, 3).unwrap();
        assert_eq!(p1, &[0, 1, 2]);
        let (p2, c2) = page(&items, c1.as_deref(), 3).unwrap();
        assert_eq!(p2, &[3, 4, 5]);
        let (p3, c3) = page(&items, c2.as_deref(), 3).unwrap();
        assert_eq!(p3, &[6]);
        assert!(c3.is_none());
        assert!(page(&items, Some("nope"), 3).is_err());
        assert!(page(&items, Some(&encode(99)), 3).is_err());
    }
}
