//! RFC 6570 URI templates, the subset resource templates use: `{var}` (one path segment or
//! query value, no `/`) and `{+var}` (reserved expansion, anything).

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Literal(String),
    Var { name: String, reserved: bool },
}

/// A parsed URI template that can match URIs and report the variables.
#[derive(Clone, Debug, PartialEq)]
pub struct UriTemplate {
    source: String,
    parts: Vec<Part>,
}

impl UriTemplate {
    /// Parses a template; `None` if a brace is unbalanced or a name is empty.
    pub fn parse(source: &str) -> Option<UriTemplate> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let close = rest[open..].find('}')? + open;
            let mut name = &rest[open + 1..close];
            let reserved = name.starts_with('+');
            if reserved {
                name = &name[1..];
            }
            if name.is_empty() || name.contains(['{', '/']) {
                return None;
            }
            parts.push(Part::Var { name: name.to_owned(), reserved });
            rest = &rest[close + 1..];
        }
        if rest.contains('}') {
            return None;
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Some(UriTemplate { source: source.to_owned(), parts })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The variable names, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var { name, .. } => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Matches a URI; on success returns each variable's (percent-decoded) value.
    pub fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        let mut vars = BTreeMap::new();
        if match_parts(&self.parts, uri, &mut vars) { Some(vars) } else { None }
    }

    /// Expands the template with the given values (percent-encoding non-reserved values).
    pub fn expand(&self, values: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(l) => out.push_str(l),
                Part::Var { name, reserved } => {
                    let v = values.get(name).map(String::as_str).unwrap_or("");
                    if *reserved { out.push_str(v) } else { out.push_str(&percent_encode(v)) }
                }
            }
        }
        out
    }
}

fn match_parts(parts: &[Part], input: &str, vars: &mut BTreeMap<String, String>) -> bool {
    match parts.split_first() {
        None => input.is_empty(),
        Some((Part::Literal(l), rest)) => {
            input.strip_prefix(l.as_str()).is_some_and(|tail| match_parts(rest, tail, vars))
        }
        Some((Part::Var { name, reserved }, rest)) => {
            // Try the longest candidate first so that a trailing literal anchors the match.
            let limit = if *reserved { input.len() } else { input.find(['/', '?', '#']).unwrap_or(input.len()) };
            for end in (1..=limit).rev() {
                if !input.is_char_boundary(end) {
                    continue;
                }
                if match_parts(rest, &input[end..], vars) {
                    vars.insert(name.clone(), percent_decode(&input[..end]));
                    return true;
                }
            }
            false
        }
    }
}

/// RFC 3986 percent-encoding: unreserved characters stay, every other byte becomes `%XX`
/// (what URI templates and SigV4 query strings both expect).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = s
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_simple_and_reserved_variables() {
        let t = UriTemplate::parse("test://template/{id}/data").unwrap();
        let v = t.matches("test://template/123/data").unwrap();
        assert_eq!(v["id"], "123");
        assert!(t.matches("test://template/1/2/data").is_none());
        assert!(t.matches("test://template//data").is_none());
        let r = UriTemplate::parse("file:///{+path}").unwrap();
        assert_eq!(r.matches("file:///a/b/c.txt").unwrap()["path"], "a/b/c.txt");
        let q = UriTemplate::parse("notes://{name}").unwrap();
        assert_eq!(q.matches("notes://shopping%20list").unwrap()["name"], "shopping list");
        assert_eq!(q.matches("notes://a%+Fb").unwrap()["name"], "a%+Fb", "only hex digits decode");
        assert_eq!(q.variables().collect::<Vec<_>>(), vec!["name"]);
    }

    #[test]
    fn rejects_malformed_templates() {
        assert!(UriTemplate::parse("a://{").is_none());
        assert!(UriTemplate::parse("a://{}").is_none());
        assert!(UriTemplate::parse("a://}x").is_none());
    }

    #[test]
    fn expands() {
        let t = UriTemplate::parse("notes://{name}").unwrap();
        let mut m = BTreeMap::new();
        m.insert("name".to_owned(), "a b".to_owned());
        assert_eq!(t.expand(&m), "notes://a%20b");
    }
}
