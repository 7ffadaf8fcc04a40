//! A small arithmetic evaluator for the `calculate` tool: numbers, `+ - * / %`, `^`,
//! parentheses, unary minus. Recursive descent with a depth limit; no panics on any input.

#[derive(Debug, PartialEq)]
pub struct EvalError(pub String);

const MAX_DEPTH: usize = 64;

pub fn evaluate(expression: &str) -> Result<f64, EvalError> {
    let mut p = Parser { s: expression.as_bytes(), i: 0, depth: 0 };
    let v = p.sum()?;
    p.skip_ws();
    if p.i != p.s.len() {
        return Err(EvalError(format!("unexpected '{}' at position {}", p.s[p.i] as char, p.i)));
    }
    if v.is_finite() { Ok(v) } else { Err(EvalError("result is not a finite number".into())) }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn sum(&mut self) -> Result<f64, EvalError> {
        let mut v = self.product()?;
        while let Some(op @ (b'+' | b'-')) = self.peek() {
            self.i += 1;
            let r = self.product()?;
            v = if op == b'+' { v + r } else { v - r };
        }
        Ok(v)
    }

    fn product(&mut self) -> Result<f64, EvalError> {
        let mut v = self.power()?;
        while let Some(op @ (b'*' | b'/' | b'%')) = self.peek() {
            self.i += 1;
            let r = self.power()?;
            v = match op {
                b'*' => v * r,
                _ if r == 0.0 => return Err(EvalError("division by zero".into())),
                b'/' => v / r,
                _ => v % r,
            };
        }
        Ok(v)
    }

    fn power(&mut self) -> Result<f64, EvalError> {
        let base = self.unary()?;
        if self.peek() == Some(b'^') {
            self.i += 1;
            let exp = self.power()?;
            return Ok(base.powf(exp));
        }
        Ok(base)
    }

    fn unary(&mut self) -> Result<f64, EvalError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(EvalError("expression nested too deeply".into()));
        }
        let v = match self.peek() {
            Some(b'-') => {
                self.i += 1;
                self.unary().map(|v| -v)
            }
            Some(b'(') => {
                self.i += 1;
                let v = self.sum()?;
                if self.peek() != Some(b')') {
                    return Err(EvalError("missing ')'".into()));
                }
                self.i += 1;
                Ok(v)
            }
            Some(c) if c.is_ascii_digit() || c == b'.' => self.number(),
            Some(c) => Err(EvalError(format!("unexpected '{}' at position {}", c as char, self.i))),
            None => Err(EvalError("unexpected end of expression".into())),
        };
        self.depth -= 1;
        v
    }

    fn number(&mut self) -> Result<f64, EvalError> {
        let start = self.i;
        while self.i < self.s.len() && (self.s[self.i].is_ascii_digit() || self.s[self.i] == b'.') {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        text.parse().map_err(|_| EvalError(format!("bad number '{text}'")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_with_precedence() {
        assert_eq!(evaluate("1 + 2 * 3").unwrap(), 7.0);
        assert_eq!(evaluate("(1 + 2) * 3").unwrap(), 9.0);
        assert_eq!(evaluate("-2 ^ 2").unwrap(), 4.0);
        assert_eq!(evaluate("2 ^ 3 ^ 2").unwrap(), 512.0);
        assert_eq!(evaluate("10 % 4").unwrap(), 2.0);
    }

    #[test]
    fn rejects_bad_input_without_panicking() {
        for bad in ["", "1 +", "1 / 0", "(1", "abc", "1..2", "9 ^ 999", &"(".repeat(10_000)] {
            assert!(evaluate(bad).is_err(), "{bad:.20}");
        }
    }
}
