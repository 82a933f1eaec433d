//! Recursive-descent parser over the scanner, with containerd's error messages and positions
//! (pkg/filters/parser.go):
//!
//! ```text
//! selectors := selector ("," selector)*
//! selector  := fieldpath [operator value]
//! fieldpath := field ("." field)*
//! field     := quoted | [A-Za-z0-9_]+
//! operator  := "==" | "!=" | "~="
//! value     := quoted | [^\s,]+        (/.../ and |...| quotes only after ~=)
//! ```

use super::quote::unquote;
use super::scanner::{Ch, Scanner, Token};
use super::{Operator, Selector};

pub(super) struct Parser<'a> {
    input: &'a str,
    scanner: Scanner<'a>,
}

/// A parse failure at a byte offset of the input.
pub(super) struct ParseError {
    pos: usize,
    msg: String,
}

impl ParseError {
    /// Go's `parseError.Error()`: the input with the offending byte marked `>|x|<`.
    pub(super) fn render(&self, input: &str) -> String {
        let b = input.as_bytes();
        if self.pos < b.len() {
            let part = |s: &[u8]| String::from_utf8_lossy(s).into_owned();
            format!(
                "[{} >|{}|< {}]: {}",
                part(&b[..self.pos]),
                part(&b[self.pos..self.pos + 1]),
                part(&b[self.pos + 1..]),
                self.msg
            )
        } else {
            format!("[{input}]: {}", self.msg)
        }
    }
}

type PResult<T> = Result<T, ParseError>;

fn err<T>(pos: usize, msg: impl Into<String>) -> PResult<T> {
    Err(ParseError { pos, msg: msg.into() })
}

impl<'a> Parser<'a> {
    pub(super) fn new(input: &'a str) -> Self {
        Parser { input, scanner: Scanner::new(input) }
    }

    pub(super) fn input(&self) -> &'a str {
        self.input
    }

    pub(super) fn selectors(&mut self) -> PResult<Vec<Selector>> {
        let mut all = vec![self.selector()?];
        loop {
            match self.scanner.peek() {
                Ch::Rune(',') => {
                    let (pos, tok, _) = self.scanner.scan();
                    if tok != Token::Separator {
                        return err(pos, "expected a separator");
                    }
                    all.push(self.selector()?);
                }
                Ch::Eof => return Ok(all),
                other => return err(self.scanner.ppos, format!("unexpected input: {}", other.display())),
            }
        }
    }

    fn selector(&mut self) -> PResult<Selector> {
        let fieldpath = self.fieldpath()?;
        if matches!(self.scanner.peek(), Ch::Rune(',') | Ch::Eof) {
            return Ok(Selector::new(fieldpath, Operator::Present, Vec::new()));
        }
        let op = self.operator()?;
        let value = self.value(op == Operator::Matches)?;
        Ok(Selector::new(fieldpath, op, value))
    }

    fn fieldpath(&mut self) -> PResult<Vec<String>> {
        let mut fields = vec![self.field()?];
        while self.scanner.peek() == Ch::Rune('.') {
            let (pos, tok, _) = self.scanner.scan();
            if tok != Token::Separator {
                return err(pos, "expected a field separator (`.`)");
            }
            fields.push(self.field()?);
        }
        Ok(fields)
    }

    fn field(&mut self) -> PResult<String> {
        let (pos, tok, text) = self.scanner.scan();
        match tok {
            Token::Field => Ok(text.to_string()),
            // Field names feed adaptor lookups (UTF-8 strings); a `\xff` escape becomes U+FFFD.
            Token::Quoted => Ok(String::from_utf8_lossy(&self.unquote(pos, text, false)?).into_owned()),
            Token::Illegal => err(pos, self.scanner.err.clone()),
            _ => err(pos, "expected field or quoted"),
        }
    }

    fn operator(&mut self) -> PResult<Operator> {
        let (pos, tok, text) = self.scanner.scan();
        match tok {
            Token::Operator => match text {
                "==" => Ok(Operator::Equal),
                "!=" => Ok(Operator::NotEqual),
                "~=" => Ok(Operator::Matches),
                _ => err(pos, format!("unsupported operator {text:?}")),
            },
            Token::Illegal => err(pos, self.scanner.err.clone()),
            _ => err(pos, "expected an operator (\"==\"|\"!=\"|\"~=\")"),
        }
    }

    fn value(&mut self, allow_alt_quotes: bool) -> PResult<Vec<u8>> {
        let (pos, tok, text) = self.scanner.scan();
        match tok {
            Token::Value | Token::Field => Ok(text.as_bytes().to_vec()),
            Token::Quoted => self.unquote(pos, text, allow_alt_quotes),
            Token::Illegal => err(pos, self.scanner.err.clone()),
            _ => err(pos, "expected value or quoted"),
        }
    }

    fn unquote(&self, pos: usize, text: &str, allow_alts: bool) -> PResult<Vec<u8>> {
        if !allow_alts && !text.starts_with('"') {
            return err(pos, "invalid quote encountered");
        }
        unquote(text).or_else(|_| err(pos, "unquoting failed: quote syntax error"))
    }
}
