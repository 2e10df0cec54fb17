//! Calico label selectors (`nodeSelector`, `peerSelector`): parsing and matching.
//!
//! The subset of Calico's selector language (libcalico-go `lib/selector`, documented
//! on the Calico "Resource definitions / BGP peer" page) that selects nodes by their
//! labels:
//!
//! ```text
//! expression := or
//! or         := and ( "||" and )*
//! and        := unary ( "&&" unary )*
//! unary      := "!" unary | "(" or ")" | "all()" | "has(" key ")"
//!             | key "==" string | key "!=" string
//!             | key "in" set | key "not" "in" set
//! set        := "{" [ string ( "," string )* ] "}"
//! string     := '…' | "…"
//! key        := [A-Za-z0-9_./-]+
//! ```
//!
//! As in Calico, `k != 'v'` and `k not in {…}` also match a node without the label
//! `k`. Errors name the byte position and what was expected there.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A parsed label selector; it prints back as the text it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Selector {
    source: String,
    expression: Expression,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Expression {
    All,
    Has(String),
    Equal(String, String),
    NotEqual(String, String),
    In(String, BTreeSet<String>),
    NotIn(String, BTreeSet<String>),
    Not(Box<Expression>),
    And(Box<Expression>, Box<Expression>),
    Or(Box<Expression>, Box<Expression>),
}

/// Why a selector text does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid selector at position {position}: {message}")]
pub struct SelectorError {
    /// 0-based byte offset of the problem.
    pub position: usize,
    /// What was expected or found there.
    pub message: String,
}

impl Selector {
    /// Parses `text`; surrounding white space is ignored, an empty text is refused
    /// (write `all()` to select everything).
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let mut parser = Parser { text, position: 0 };
        parser.skip_space();
        if parser.at_end() {
            return Err(parser.error("empty selector (use all() to select everything)"));
        }
        let expression = parser.or()?;
        parser.skip_space();
        if !parser.at_end() {
            return Err(parser.error("unexpected text after the expression"));
        }
        Ok(Selector {
            source: text.trim().to_owned(),
            expression,
        })
    }

    /// The selector as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether a resource with these labels is selected.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.expression.matches(labels)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.source)
    }
}

impl Expression {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Expression::All => true,
            Expression::Has(key) => labels.contains_key(key),
            Expression::Equal(key, value) => labels.get(key) == Some(value),
            Expression::NotEqual(key, value) => labels.get(key) != Some(value),
            Expression::In(key, values) => labels.get(key).is_some_and(|v| values.contains(v)),
            Expression::NotIn(key, values) => labels.get(key).is_none_or(|v| !values.contains(v)),
            Expression::Not(inner) => !inner.matches(labels),
            Expression::And(left, right) => left.matches(labels) && right.matches(labels),
            Expression::Or(left, right) => left.matches(labels) || right.matches(labels),
        }
    }
}

struct Parser<'text> {
    text: &'text str,
    position: usize,
}

impl Parser<'_> {
    fn error(&self, message: &str) -> SelectorError {
        SelectorError {
            position: self.position,
            message: message.to_owned(),
        }
    }

    fn rest(&self) -> &str {
        &self.text[self.position..]
    }

    fn at_end(&self) -> bool {
        self.rest().is_empty()
    }

    fn skip_space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.position = self.text.len() - trimmed.len();
    }

    /// Consumes `token` (after white space) if it comes next.
    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.rest().starts_with(token) {
            self.position += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str) -> Result<(), SelectorError> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.error(&format!("expected '{token}'")))
        }
    }

    fn or(&mut self) -> Result<Expression, SelectorError> {
        let mut left = self.and()?;
        while self.eat("||") {
            let right = self.and()?;
            left = Expression::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expression, SelectorError> {
        let mut left = self.unary()?;
        while self.eat("&&") {
            let right = self.unary()?;
            left = Expression::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expression, SelectorError> {
        self.skip_space();
        // `!=` never starts an operand, so a leading `!` is always negation.
        if self.eat("!") {
            return Ok(Expression::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let inner = self.or()?;
            self.expect(")")?;
            return Ok(inner);
        }
        if self.eat("all(") {
            self.expect(")")?;
            return Ok(Expression::All);
        }
        if self.rest().starts_with("has(") {
            self.position += "has(".len();
            let key = self.key()?;
            self.expect(")")?;
            return Ok(Expression::Has(key));
        }
        let key = self.key()?;
        if self.eat("==") {
            return Ok(Expression::Equal(key, self.string()?));
        }
        if self.eat("!=") {
            return Ok(Expression::NotEqual(key, self.string()?));
        }
        if self.eat_word("in") {
            return Ok(Expression::In(key, self.set()?));
        }
        if self.eat_word("not") {
            if !self.eat_word("in") {
                return Err(self.error("expected 'in' after 'not'"));
            }
            return Ok(Expression::NotIn(key, self.set()?));
        }
        Err(self.error("expected one of '==', '!=', 'in', 'not in' after the label"))
    }

    /// Consumes a keyword that is not the start of a longer word.
    fn eat_word(&mut self, word: &str) -> bool {
        self.skip_space();
        let rest = self.rest();
        let followed_by_word = rest[word.len().min(rest.len())..]
            .chars()
            .next()
            .is_some_and(is_key_character);
        if rest.starts_with(word) && !followed_by_word {
            self.position += word.len();
            true
        } else {
            false
        }
    }

    fn key(&mut self) -> Result<String, SelectorError> {
        self.skip_space();
        let length = self
            .rest()
            .find(|character: char| !is_key_character(character))
            .unwrap_or(self.rest().len());
        if length == 0 {
            return Err(self.error("expected a label name"));
        }
        let key = self.rest()[..length].to_owned();
        self.position += length;
        Ok(key)
    }

    fn string(&mut self) -> Result<String, SelectorError> {
        self.skip_space();
        let quote = match self.rest().chars().next() {
            Some(quote @ ('\'' | '"')) => quote,
            _ => return Err(self.error("expected a quoted value ('…' or \"…\")")),
        };
        let start = self.position;
        self.position += 1;
        match self.rest().find(quote) {
            Some(length) => {
                let value = self.rest()[..length].to_owned();
                self.position += length + 1;
                Ok(value)
            }
            None => {
                self.position = start;
                Err(self.error("unterminated quoted value"))
            }
        }
    }

    fn set(&mut self) -> Result<BTreeSet<String>, SelectorError> {
        self.expect("{")?;
        let mut values = BTreeSet::new();
        if self.eat("}") {
            return Ok(values);
        }
        loop {
            values.insert(self.string()?);
            if self.eat("}") {
                return Ok(values);
            }
            if !self.eat(",") {
                return Err(self.error("expected ',' or '}' in the set"));
            }
        }
    }
}

fn is_key_character(character: char) -> bool {
    character.is_ascii_alphanumeric() || matches!(character, '_' | '.' | '/' | '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn every_form_matches_as_calico_documents() {
        let rack_a = labels(&[
            ("rack", "a"),
            ("zone", "west"),
            ("kubernetes.io/os", "linux"),
        ]);
        let bare = labels(&[]);
        // (selector, matches rack_a, matches bare)
        let cases = [
            ("all()", true, true),
            ("rack == 'a'", true, false),
            ("rack == \"b\"", false, false),
            ("rack != 'b'", true, true),
            ("rack != 'a'", false, true),
            ("has(rack)", true, false),
            ("!has(rack)", false, true),
            ("rack in {'a', 'b'}", true, false),
            ("rack in {}", false, false),
            ("rack not in {'b'}", true, true),
            ("rack not in {'a','b'}", false, true),
            ("rack == 'a' && zone == 'west'", true, false),
            ("rack == 'b' || zone == 'west'", true, false),
            ("rack == 'b' || zone == 'east' && has(rack)", false, false),
            ("(rack == 'b' || zone == 'west') && has(rack)", true, false),
            ("!(rack == 'a')", false, true),
            ("kubernetes.io/os == 'linux'", true, false),
            ("  has( rack )  ", true, false),
            ("inside == 'x' || notation != 'y'", true, true),
        ];
        for (text, on_rack_a, on_bare) in cases {
            let selector = Selector::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
            assert_eq!(selector.matches(&rack_a), on_rack_a, "{text} on rack a");
            assert_eq!(selector.matches(&bare), on_bare, "{text} on no labels");
        }
    }

    #[test]
    fn errors_say_where_and_what() {
        let cases = [
            ("", 0, "empty selector (use all() to select everything)"),
            ("rack ==", 7, "expected a quoted value ('…' or \"…\")"),
            ("rack == 'a", 8, "unterminated quoted value"),
            (
                "rack = 'a'",
                5,
                "expected one of '==', '!=', 'in', 'not in' after the label",
            ),
            ("has(rack", 8, "expected ')'"),
            ("rack in {'a' 'b'}", 13, "expected ',' or '}' in the set"),
            ("rack not {'a'}", 9, "expected 'in' after 'not'"),
            ("rack == 'a' &&", 14, "expected a label name"),
            (
                "rack == 'a' junk",
                12,
                "unexpected text after the expression",
            ),
            ("(has(rack)", 10, "expected ')'"),
            (
                "all",
                3,
                "expected one of '==', '!=', 'in', 'not in' after the label",
            ),
        ];
        for (text, position, message) in cases {
            let error = Selector::parse(text).unwrap_err();
            assert_eq!(
                (error.position, error.message.as_str()),
                (position, message),
                "{text}"
            );
        }
        assert_eq!(
            Selector::parse("rack ==").unwrap_err().to_string(),
            "invalid selector at position 7: expected a quoted value ('…' or \"…\")"
        );
    }

    #[test]
    fn a_selector_prints_as_written() {
        let selector = Selector::parse(" rack in {'a'} ").unwrap();
        assert_eq!(selector.to_string(), "rack in {'a'}");
    }
}
