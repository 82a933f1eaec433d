//! The filter tokenizer, rune by rune as containerd's pkg/filters/scanner.go does it, including
//! its quirks: `.` and `,` are both separators, `"`, `/` and `|` all open quotes, operator runes
//! `=!~` are taken greedily, whitespace is skipped only where a token starts, and after an
//! operator any run of graphic runes (except `,`) is one value. Positions are byte offsets.

/// One decoded rune, or the two special results of `next`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ch {
    Eof,
    /// A rune the scanner refuses (NUL, U+FFFD); the reason is in `Scanner::err`.
    Illegal,
    Rune(char),
}

impl Ch {
    /// What Go prints for the rune in "unexpected input: %v" (`string(rune(-n))` = U+FFFD).
    pub(super) fn display(self) -> String {
        match self {
            Ch::Rune(c) => c.to_string(),
            Ch::Eof | Ch::Illegal => '\u{FFFD}'.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token {
    Eof,
    Quoted,
    Value,
    Field,
    Separator,
    Operator,
    Illegal,
    /// Any other rune, returned as itself (Go's `token(ch)`).
    Other(char),
}

pub(super) struct Scanner<'a> {
    input: &'a str,
    /// Start of the current rune.
    pub(super) pos: usize,
    /// End of the current rune (= start of the next one).
    pub(super) ppos: usize,
    /// Set after an operator: the next plain run is a value, not a field.
    value: bool,
    /// The first error seen (kept across `peek`, as in Go).
    pub(super) err: String,
}

impl<'a> Scanner<'a> {
    pub(super) fn new(input: &'a str) -> Self {
        Scanner { input, pos: 0, ppos: 0, value: false, err: String::new() }
    }

    fn error(&mut self, msg: &str) {
        if self.err.is_empty() {
            self.err = msg.to_string();
        }
    }

    pub(super) fn next(&mut self) -> Ch {
        if self.pos >= self.input.len() {
            return Ch::Eof;
        }
        self.pos = self.ppos;
        let Some(c) = self.input[self.ppos..].chars().next() else {
            return Ch::Eof;
        };
        self.ppos += c.len_utf8();
        // Go decodes U+FFFD as utf8.RuneError and rejects it like an invalid byte.
        if c == '\u{FFFD}' {
            self.error("rune error");
            return Ch::Illegal;
        }
        if c == '\0' {
            self.error("unexpected null");
            return Ch::Illegal;
        }
        Ch::Rune(c)
    }

    pub(super) fn peek(&mut self) -> Ch {
        let (pos, ppos) = (self.pos, self.ppos);
        let ch = self.next();
        self.pos = pos;
        self.ppos = ppos;
        ch
    }

    /// The next token: (start offset, kind, text).
    pub(super) fn scan(&mut self) -> (usize, Token, &'a str) {
        let mut ch = self.next();
        let mut pos = self.pos;
        while let Ch::Rune(c) = ch {
            if is_quote_rune(c) {
                let ok = self.scan_quoted(c);
                let text = &self.input[pos..self.ppos];
                return (pos, if ok { Token::Quoted } else { Token::Illegal }, text);
            }
            if is_separator_rune(c) {
                self.value = false;
                return (pos, Token::Separator, &self.input[pos..self.ppos]);
            }
            if is_operator_rune(c) {
                self.scan_while(is_operator_rune);
                self.value = true;
                return (pos, Token::Operator, &self.input[pos..self.ppos]);
            }
            if c.is_whitespace() {
                ch = self.next();
                pos = self.pos;
                continue;
            }
            if self.value {
                self.scan_while(is_value_rune);
                self.value = false;
                return (pos, Token::Value, &self.input[pos..self.ppos]);
            }
            if is_field_rune(c) {
                self.scan_while(is_field_rune);
                return (pos, Token::Field, &self.input[pos..self.ppos]);
            }
            return (self.pos, Token::Other(c), "");
        }
        let tok = if ch == Ch::Eof { Token::Eof } else { Token::Illegal };
        (self.pos, tok, "")
    }

    fn scan_while(&mut self, accept: fn(char) -> bool) {
        while let Ch::Rune(c) = self.peek() {
            if !accept(c) {
                break;
            }
            self.next();
        }
    }

    /// Consumes a quoted literal after its opening `quote`; false when it is malformed.
    fn scan_quoted(&mut self, quote: char) -> bool {
        let mut illegal = false;
        let mut ch = self.next();
        while ch != Ch::Rune(quote) {
            match ch {
                Ch::Rune('\n') | Ch::Eof | Ch::Illegal => {
                    self.error("quoted literal not terminated");
                    return false;
                }
                Ch::Rune('\\') => {
                    let (next, legal) = self.scan_escape(quote);
                    illegal |= !legal;
                    ch = next;
                }
                Ch::Rune(_) => ch = self.next(),
            }
        }
        !illegal
    }

    /// After a backslash: checks one escape and returns the rune after it.
    fn scan_escape(&mut self, quote: char) -> (Ch, bool) {
        let ch = self.next();
        match ch {
            Ch::Rune(c) if "abfnrtv\\".contains(c) || c == quote => (self.next(), true),
            Ch::Rune(c @ '0'..='7') => self.scan_digits(Ch::Rune(c), 8, 3),
            Ch::Rune('x') => {
                let first = self.next();
                self.scan_digits(first, 16, 2)
            }
            Ch::Rune('u') => {
                let first = self.next();
                self.scan_digits(first, 16, 4)
            }
            Ch::Rune('U') => {
                let first = self.next();
                self.scan_digits(first, 16, 8)
            }
            _ => {
                self.error("illegal escape sequence");
                (ch, false)
            }
        }
    }

    fn scan_digits(&mut self, mut ch: Ch, base: u32, mut n: usize) -> (Ch, bool) {
        while n > 0 && matches!(ch, Ch::Rune(c) if c.to_digit(16).is_some_and(|d| d < base)) {
            ch = self.next();
            n -= 1;
        }
        if n > 0 {
            self.error("illegal numeric escape sequence");
            return (ch, false);
        }
        (ch, true)
    }
}

fn is_field_rune(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

fn is_operator_rune(c: char) -> bool {
    matches!(c, '=' | '!' | '~')
}

fn is_quote_rune(c: char) -> bool {
    matches!(c, '/' | '|' | '"')
}

fn is_separator_rune(c: char) -> bool {
    matches!(c, ',' | '.')
}

/// Go: not `,`, not space, and graphic (letters, marks, numbers, punctuation, symbols).
/// Rust's std has no general-category table, so "graphic" is approximated as: not a control,
/// format (Cf) or private-use rune and not a noncharacter. Unassigned code points, which Go
/// rejects, are accepted here.
fn is_value_rune(c: char) -> bool {
    c != ',' && !c.is_whitespace() && !c.is_control() && !is_format_or_private(c)
}

fn is_format_or_private(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF
        | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
        | 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD
        | 0xFDD0..=0xFDEF)
        || (c as u32) & 0xFFFE == 0xFFFE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: &str) -> Vec<(usize, Token, String)> {
        let mut s = Scanner::new(input);
        let mut out = Vec::new();
        loop {
            let (pos, tok, text) = s.scan();
            out.push((pos, tok, text.to_string()));
            if matches!(tok, Token::Eof | Token::Illegal) {
                return out;
            }
        }
    }

    #[test]
    fn tokenizes_fields_operators_values() {
        use Token::*;
        let t = tokens("labels.\"a b\"~=/x.y/,name==foo.bar:1");
        let kinds: Vec<_> = t.iter().map(|(_, k, s)| (*k, s.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                (Field, "labels"),
                (Separator, "."),
                (Quoted, "\"a b\""),
                (Operator, "~="),
                (Quoted, "/x.y/"),
                (Separator, ","),
                (Field, "name"),
                (Operator, "=="),
                (Value, "foo.bar:1"),
                (Eof, ""),
            ]
        );
        assert_eq!(t[2].0, 7);
        assert_eq!(t.last().unwrap().0, 35);
    }

    #[test]
    fn odd_runes() {
        assert_eq!(tokens("name'x")[1].1, Token::Other('\''));
        let mut s = Scanner::new("a\0");
        s.scan();
        assert_eq!(s.scan().1, Token::Illegal);
        assert_eq!(s.err, "unexpected null");
        let mut s = Scanner::new("\"a\\qb\"");
        assert_eq!(s.scan().1, Token::Illegal);
        assert_eq!(s.err, "illegal escape sequence");
        let mut s = Scanner::new("\"\\x4\"");
        assert_eq!(s.scan().1, Token::Illegal);
        assert_eq!(s.err, "illegal numeric escape sequence");
    }
}
