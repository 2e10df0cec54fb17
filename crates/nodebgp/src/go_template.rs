//! The subset of Go's `text/template` that `get -o go-template=…` needs, run
//! over the JSON form of the resources.
//!
//! calicoctl executes the template on the list of result lists it fetched
//! (one `<Kind>List` per kind), so `{{range .}}{{range .Items}}…{{end}}{{end}}`
//! walks every resource. Templates name Go struct fields (`.ObjectMeta.Name`,
//! `.Spec.ASNumber`); here a field is looked up in the JSON document by its
//! name, case-insensitively, with Go's embedded structs mapped onto the
//! document: `ObjectMeta` is `metadata`, `TypeMeta` is the document itself,
//! and a field the document lacks is also looked for in its `metadata`
//! (`.Name`, promoted from the embedded `ObjectMeta`). kubectl-style lower
//! case (`.metadata.name`) works the same.
//!
//! Supported: text and actions with `{{-`/`-}}` trimming and `{{/* */}}`
//! comments; fields, `.`, `$`, variables (`$x := …`, `range $i, $e := …`);
//! string, raw-string, number and boolean literals; pipelines with `|` and
//! parentheses; `if`, `else if`, `range` (arrays and maps, sorted keys, with
//! `else`), `with`; the functions `and or not eq ne lt le gt ge len index
//! print println printf join`. A missing field prints `<no value>`, as a
//! missing map key does in Go.

use std::fmt::Write as _;

use serde_json::Value;

/// A template that failed to parse or to execute, in Go's words where they
/// help (`template: get:1: unexpected EOF`).
#[derive(Debug)]
pub(crate) struct TemplateError(String);

impl std::fmt::Display for TemplateError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "template: get: {}", self.0)
    }
}

impl std::error::Error for TemplateError {}

fn error<T>(message: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError(message.into()))
}

/// Parses `template` and runs it with `data` as dot.
pub(crate) fn render(template: &str, data: &Value) -> Result<String, TemplateError> {
    let tokens = tokenize(template)?;
    let mut parser = Parser {
        tokens: &tokens,
        position: 0,
    };
    let (nodes, end) = parser.nodes()?;
    if let Some(end) = end {
        return error(format!("unexpected {{{{{end}}}}}"));
    }
    let mut output = String::new();
    let mut scope = vec![("$".to_owned(), data.clone())];
    execute(&nodes, data, &mut scope, &mut output)?;
    Ok(output)
}

/// Text between actions, or an action's inside (without delimiters).
#[derive(Debug)]
enum Token {
    Text(String),
    Action(String),
}

fn tokenize(template: &str) -> Result<Vec<Token>, TemplateError> {
    let mut tokens = Vec::new();
    let mut rest = template;
    let mut trim_next_text = false;
    while !rest.is_empty() {
        let Some(open) = rest.find("{{") else {
            push_text(&mut tokens, rest, trim_next_text, false);
            break;
        };
        let after_open = &rest[open + 2..];
        let trim_before = after_open.starts_with("- ")
            || after_open.starts_with("-\t")
            || after_open.starts_with("-\n");
        push_text(&mut tokens, &rest[..open], trim_next_text, trim_before);
        let inner_start = if trim_before { 1 } else { 0 };
        let body = &after_open[inner_start..];
        let close = find_close(body).ok_or_else(|| TemplateError("unclosed action".into()))?;
        let mut inner = &body[..close];
        trim_next_text = inner.ends_with(" -") || inner.ends_with("\t-") || inner.ends_with("\n-");
        if trim_next_text {
            inner = &inner[..inner.len() - 1];
        }
        let inner = inner.trim();
        if !(inner.starts_with("/*") && inner.ends_with("*/")) {
            tokens.push(Token::Action(inner.to_owned()));
        }
        rest = &body[close + 2..];
    }
    Ok(tokens)
}

/// The `}}` closing an action, skipping quoted strings.
fn find_close(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut index = 0;
    let mut quote: Option<u8> = None;
    while index < bytes.len() {
        let byte = bytes[index];
        match quote {
            Some(b'"') if byte == b'\\' => index += 1,
            Some(open) if byte == open => quote = None,
            Some(_) => {}
            None if byte == b'"' || byte == b'`' => quote = Some(byte),
            None if body[index..].starts_with("}}") => return Some(index),
            None => {}
        }
        index += 1;
    }
    None
}

fn push_text(tokens: &mut Vec<Token>, text: &str, trim_start: bool, trim_end: bool) {
    let mut text = text;
    if trim_start {
        text = text.trim_start();
    }
    if trim_end {
        text = text.trim_end();
    }
    if !text.is_empty() {
        tokens.push(Token::Text(text.to_owned()));
    }
}

#[derive(Debug)]
enum Node {
    Text(String),
    Print(Pipeline),
    If {
        condition: Pipeline,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
    With {
        value: Pipeline,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
    Range {
        value: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

/// `$a, $b := cmd | cmd …`
#[derive(Debug)]
struct Pipeline {
    declarations: Vec<String>,
    commands: Vec<Vec<Operand>>,
}

#[derive(Debug)]
enum Operand {
    /// `.A.B`; an empty chain is dot itself.
    Field(Vec<String>),
    /// `$x.A.B`
    Variable(String, Vec<String>),
    Literal(Value),
    Function(String),
    /// `(pipeline).A`
    Group(Box<Pipeline>, Vec<String>),
}

struct Parser<'a> {
    tokens: &'a [Token],
    position: usize,
}

impl Parser<'_> {
    /// Nodes up to an `{{else…}}` or `{{end}}` (returned) or the end.
    fn nodes(&mut self) -> Result<(Vec<Node>, Option<String>), TemplateError> {
        let mut nodes = Vec::new();
        while let Some(token) = self.tokens.get(self.position) {
            self.position += 1;
            match token {
                Token::Text(text) => nodes.push(Node::Text(text.clone())),
                Token::Action(action) => {
                    let (keyword, rest) = split_keyword(action);
                    match keyword {
                        "end" | "else" => return Ok((nodes, Some(action.clone()))),
                        "if" | "with" | "range" => nodes.push(self.block(keyword, rest)?),
                        _ => nodes.push(Node::Print(parse_pipeline(action)?)),
                    }
                }
            }
        }
        Ok((nodes, None))
    }

    fn block(&mut self, keyword: &str, rest: &str) -> Result<Node, TemplateError> {
        let pipeline = parse_pipeline(rest)?;
        let (body, end) = self.nodes()?;
        let end = end.ok_or_else(|| TemplateError("unexpected EOF".into()))?;
        let otherwise = match split_keyword(&end) {
            ("end", _) => Vec::new(),
            ("else", "") => {
                let (otherwise, end) = self.nodes()?;
                match end.as_deref().map(split_keyword) {
                    Some(("end", _)) => otherwise,
                    _ => return error("expected {{end}} after {{else}}"),
                }
            }
            // `{{else if …}}` is an `if` nested in the else branch that
            // shares the outer `{{end}}`.
            ("else", chained) => {
                let (inner_keyword, inner_rest) = split_keyword(chained);
                if !matches!(inner_keyword, "if" | "with") {
                    return error(format!("unexpected {{{{else {chained}}}}}"));
                }
                vec![self.block(inner_keyword, inner_rest)?]
            }
            _ => return error(format!("unexpected {{{{{end}}}}}")),
        };
        Ok(match keyword {
            "if" => Node::If {
                condition: pipeline,
                then: body,
                otherwise,
            },
            "with" => Node::With {
                value: pipeline,
                then: body,
                otherwise,
            },
            _ => Node::Range {
                value: pipeline,
                body,
                otherwise,
            },
        })
    }
}

fn split_keyword(action: &str) -> (&str, &str) {
    let action = action.trim();
    match action.find(char::is_whitespace) {
        Some(space) => (&action[..space], action[space..].trim()),
        None => (action, ""),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Lexeme {
    Dot(Vec<String>),
    Variable(String, Vec<String>),
    Identifier(String),
    Literal(Value),
    Pipe,
    Open,
    Close(Vec<String>),
    Declare,
    Comma,
}

fn lex(text: &str) -> Result<Vec<Lexeme>, TemplateError> {
    let characters: Vec<char> = text.chars().collect();
    let mut lexemes = Vec::new();
    let mut index = 0;
    let chain = |index: &mut usize| {
        let mut fields = Vec::new();
        while characters.get(*index) == Some(&'.')
            && characters
                .get(*index + 1)
                .is_some_and(|next| next.is_alphanumeric() || *next == '_')
        {
            *index += 1;
            let start = *index;
            while characters
                .get(*index)
                .is_some_and(|character| character.is_alphanumeric() || *character == '_')
            {
                *index += 1;
            }
            fields.push(characters[start..*index].iter().collect::<String>());
        }
        fields
    };
    while index < characters.len() {
        let character = characters[index];
        match character {
            _ if character.is_whitespace() => index += 1,
            '|' => {
                lexemes.push(Lexeme::Pipe);
                index += 1;
            }
            '(' => {
                lexemes.push(Lexeme::Open);
                index += 1;
            }
            ')' => {
                index += 1;
                lexemes.push(Lexeme::Close(chain(&mut index)));
            }
            ',' => {
                lexemes.push(Lexeme::Comma);
                index += 1;
            }
            ':' if characters.get(index + 1) == Some(&'=') => {
                lexemes.push(Lexeme::Declare);
                index += 2;
            }
            '.' => {
                let fields = chain(&mut index);
                if fields.is_empty() {
                    index += 1;
                }
                lexemes.push(Lexeme::Dot(fields));
            }
            '$' => {
                let start = index;
                index += 1;
                while characters
                    .get(index)
                    .is_some_and(|character| character.is_alphanumeric() || *character == '_')
                {
                    index += 1;
                }
                let name: String = characters[start..index].iter().collect();
                lexemes.push(Lexeme::Variable(name, chain(&mut index)));
            }
            '"' => {
                let mut literal = String::new();
                index += 1;
                loop {
                    match characters.get(index) {
                        None => return error("unterminated quoted string"),
                        Some('"') => break,
                        Some('\\') => {
                            index += 1;
                            literal.push(match characters.get(index) {
                                Some('n') => '\n',
                                Some('t') => '\t',
                                Some('r') => '\r',
                                Some(other @ ('"' | '\\')) => *other,
                                _ => return error("unknown escape sequence in string"),
                            });
                        }
                        Some(other) => literal.push(*other),
                    }
                    index += 1;
                }
                index += 1;
                lexemes.push(Lexeme::Literal(Value::String(literal)));
            }
            '`' => {
                let start = index + 1;
                let Some(length) = characters[start..]
                    .iter()
                    .position(|character| *character == '`')
                else {
                    return error("unterminated raw quoted string");
                };
                lexemes.push(Lexeme::Literal(Value::String(
                    characters[start..start + length].iter().collect(),
                )));
                index = start + length + 1;
            }
            _ if character.is_ascii_digit() || character == '-' => {
                let start = index;
                index += 1;
                while characters
                    .get(index)
                    .is_some_and(|character| character.is_ascii_digit() || *character == '.')
                {
                    index += 1;
                }
                let number: String = characters[start..index].iter().collect();
                let value = serde_json::from_str::<Value>(&number)
                    .ok()
                    .filter(Value::is_number)
                    .ok_or_else(|| TemplateError(format!("bad number syntax: {number:?}")))?;
                lexemes.push(Lexeme::Literal(value));
            }
            _ if character.is_alphabetic() || character == '_' => {
                let start = index;
                while characters
                    .get(index)
                    .is_some_and(|character| character.is_alphanumeric() || *character == '_')
                {
                    index += 1;
                }
                let word: String = characters[start..index].iter().collect();
                lexemes.push(match word.as_str() {
                    "true" => Lexeme::Literal(Value::Bool(true)),
                    "false" => Lexeme::Literal(Value::Bool(false)),
                    "nil" => Lexeme::Literal(Value::Null),
                    _ => Lexeme::Identifier(word),
                });
            }
            other => return error(format!("unexpected {other:?} in command")),
        }
    }
    Ok(lexemes)
}

fn parse_pipeline(text: &str) -> Result<Pipeline, TemplateError> {
    let lexemes = lex(text)?;
    let mut position = 0;
    let pipeline = pipeline_from(&lexemes, &mut position)?;
    if position != lexemes.len() {
        return error(format!("unexpected {:?} in {text:?}", lexemes[position]));
    }
    Ok(pipeline)
}

fn pipeline_from(lexemes: &[Lexeme], position: &mut usize) -> Result<Pipeline, TemplateError> {
    // Declarations: `$a :=` or `$a, $b :=`.
    let mut declarations = Vec::new();
    let mut look = *position;
    let mut names = Vec::new();
    while let Some(Lexeme::Variable(name, chain)) = lexemes.get(look) {
        if !chain.is_empty() {
            break;
        }
        names.push(name.clone());
        look += 1;
        match lexemes.get(look) {
            Some(Lexeme::Comma) => look += 1,
            Some(Lexeme::Declare) => {
                declarations = std::mem::take(&mut names);
                *position = look + 1;
                break;
            }
            _ => break,
        }
    }
    let mut commands = vec![Vec::new()];
    while let Some(lexeme) = lexemes.get(*position) {
        let operand = match lexeme {
            Lexeme::Close(_) => break,
            Lexeme::Pipe => {
                *position += 1;
                commands.push(Vec::new());
                continue;
            }
            Lexeme::Dot(fields) => Operand::Field(fields.clone()),
            Lexeme::Variable(name, fields) => Operand::Variable(name.clone(), fields.clone()),
            Lexeme::Identifier(name) => Operand::Function(name.clone()),
            Lexeme::Literal(value) => Operand::Literal(value.clone()),
            Lexeme::Open => {
                *position += 1;
                let inner = pipeline_from(lexemes, position)?;
                let Some(Lexeme::Close(fields)) = lexemes.get(*position) else {
                    return error("unclosed left paren");
                };
                Operand::Group(Box::new(inner), fields.clone())
            }
            Lexeme::Declare | Lexeme::Comma => return error("unexpected := or , in command"),
        };
        *position += 1;
        commands
            .last_mut()
            .expect("one command at least")
            .push(operand);
    }
    if commands.iter().any(Vec::is_empty) {
        return error("missing value for command");
    }
    Ok(Pipeline {
        declarations,
        commands,
    })
}

type Scope = Vec<(String, Value)>;

fn execute(
    nodes: &[Node],
    dot: &Value,
    scope: &mut Scope,
    output: &mut String,
) -> Result<(), TemplateError> {
    for node in nodes {
        let depth = scope.len();
        match node {
            Node::Text(text) => output.push_str(text),
            Node::Print(pipeline) => {
                let value = evaluate_pipeline(pipeline, dot, scope)?;
                if pipeline.declarations.is_empty() {
                    print_value(&value, output);
                }
                // A declaration lives to the end of the enclosing block.
                continue;
            }
            Node::If {
                condition,
                then,
                otherwise,
            } => {
                let value = evaluate_pipeline(condition, dot, scope)?;
                let branch = if truth(&value) { then } else { otherwise };
                execute(branch, dot, scope, output)?;
            }
            Node::With {
                value,
                then,
                otherwise,
            } => {
                let value = evaluate_pipeline(value, dot, scope)?;
                if truth(&value) {
                    execute(then, &value, scope, output)?;
                } else {
                    execute(otherwise, dot, scope, output)?;
                }
            }
            Node::Range {
                value,
                body,
                otherwise,
            } => {
                let collection = evaluate_pipeline_value(value, dot, scope)?;
                let entries: Vec<(Value, Value)> = match &collection {
                    Value::Array(items) => items
                        .iter()
                        .enumerate()
                        .map(|(index, item)| (Value::from(index), item.clone()))
                        .collect(),
                    Value::Object(map) => {
                        let mut keys: Vec<&String> = map.keys().collect();
                        keys.sort();
                        keys.into_iter()
                            .map(|key| (Value::String(key.clone()), map[key].clone()))
                            .collect()
                    }
                    Value::Null => Vec::new(),
                    other => return error(format!("range can't iterate over {other}")),
                };
                if entries.is_empty() {
                    execute(otherwise, dot, scope, output)?;
                }
                for (key, element) in entries {
                    let inner_depth = scope.len();
                    match value.declarations.as_slice() {
                        [] => {}
                        [element_name] => scope.push((element_name.clone(), element.clone())),
                        [key_name, element_name, ..] => {
                            scope.push((key_name.clone(), key));
                            scope.push((element_name.clone(), element.clone()));
                        }
                    }
                    execute(body, &element, scope, output)?;
                    scope.truncate(inner_depth);
                }
            }
        }
        scope.truncate(depth);
    }
    Ok(())
}

/// A pipeline's value, binding its declarations in `scope`.
fn evaluate_pipeline(
    pipeline: &Pipeline,
    dot: &Value,
    scope: &mut Scope,
) -> Result<Value, TemplateError> {
    let value = evaluate_pipeline_value(pipeline, dot, scope)?;
    for name in &pipeline.declarations {
        scope.push((name.clone(), value.clone()));
    }
    Ok(value)
}

/// A pipeline's value without binding (range binds per element).
fn evaluate_pipeline_value(
    pipeline: &Pipeline,
    dot: &Value,
    scope: &Scope,
) -> Result<Value, TemplateError> {
    let mut previous: Option<Value> = None;
    for command in &pipeline.commands {
        previous = Some(evaluate_command(command, previous, dot, scope)?);
    }
    Ok(previous.unwrap_or(Value::Null))
}

fn evaluate_command(
    command: &[Operand],
    piped: Option<Value>,
    dot: &Value,
    scope: &Scope,
) -> Result<Value, TemplateError> {
    let (first, rest) = command.split_first().expect("commands are never empty");
    if let Operand::Function(name) = first {
        let mut arguments = rest
            .iter()
            .map(|operand| evaluate_operand(operand, dot, scope))
            .collect::<Result<Vec<_>, _>>()?;
        arguments.extend(piped);
        return call(name, &arguments);
    }
    if !rest.is_empty() || piped.is_some() {
        return error("can't give argument to non-function");
    }
    evaluate_operand(first, dot, scope)
}

fn evaluate_operand(operand: &Operand, dot: &Value, scope: &Scope) -> Result<Value, TemplateError> {
    match operand {
        Operand::Field(fields) => Ok(follow(dot, fields)),
        Operand::Variable(name, fields) => {
            let Some((_, value)) = scope.iter().rev().find(|(bound, _)| bound == name) else {
                return error(format!("undefined variable: {name}"));
            };
            Ok(follow(value, fields))
        }
        Operand::Literal(value) => Ok(value.clone()),
        Operand::Function(name) => call(name, &[]),
        Operand::Group(pipeline, fields) => Ok(follow(
            &evaluate_pipeline_value(pipeline, dot, scope)?,
            fields,
        )),
    }
}

fn follow(value: &Value, fields: &[String]) -> Value {
    let mut current = value.clone();
    for field in fields {
        current = field_of(&current, field).unwrap_or(Value::Null);
    }
    current
}

/// A Go struct field of a JSON document; see the module documentation.
fn field_of(value: &Value, field: &str) -> Option<Value> {
    let Value::Object(map) = value else {
        return None;
    };
    if field.eq_ignore_ascii_case("TypeMeta") {
        return Some(value.clone());
    }
    let wanted = if field.eq_ignore_ascii_case("ObjectMeta") {
        "metadata"
    } else {
        field
    };
    if let Some(found) = map.get(wanted) {
        return Some(found.clone());
    }
    if let Some((_, found)) = map.iter().find(|(key, _)| key.eq_ignore_ascii_case(wanted)) {
        return Some(found.clone());
    }
    match map.get("metadata") {
        Some(metadata) if metadata.is_object() => field_of(metadata, field),
        _ => None,
    }
}

/// Go's truth: false, 0, nil and empty strings, lists and maps are false.
fn truth(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(boolean) => *boolean,
        Value::Number(number) => number.as_f64().is_some_and(|number| number != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// What `{{…}}` prints, as Go's fmt prints the equivalent Go value.
fn print_value(value: &Value, output: &mut String) {
    match value {
        Value::Null => output.push_str("<no value>"),
        Value::String(text) => output.push_str(text),
        Value::Bool(boolean) => {
            let _ = write!(output, "{boolean}");
        }
        Value::Number(number) => {
            let _ = write!(output, "{number}");
        }
        Value::Array(items) => {
            output.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    output.push(' ');
                }
                print_value(item, output);
            }
            output.push(']');
        }
        Value::Object(map) => {
            output.push_str("map[");
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    output.push(' ');
                }
                output.push_str(key);
                output.push(':');
                print_value(&map[key], output);
            }
            output.push(']');
        }
    }
}

fn text_of(value: &Value) -> String {
    let mut text = String::new();
    print_value(value, &mut text);
    text
}

fn call(name: &str, arguments: &[Value]) -> Result<Value, TemplateError> {
    let arity = |count: usize| {
        if arguments.len() == count {
            Ok(())
        } else {
            error(format!(
                "wrong number of args for {name}: want {count} got {}",
                arguments.len()
            ))
        }
    };
    Ok(match name {
        "not" => {
            arity(1)?;
            Value::Bool(!truth(&arguments[0]))
        }
        // Go's `and`/`or` return the deciding argument, not a boolean.
        "and" => arguments
            .iter()
            .find(|argument| !truth(argument))
            .or(arguments.last())
            .cloned()
            .unwrap_or(Value::Null),
        "or" => arguments
            .iter()
            .find(|argument| truth(argument))
            .or(arguments.last())
            .cloned()
            .unwrap_or(Value::Null),
        "eq" => {
            let Some((first, others)) = arguments.split_first() else {
                return error("missing argument for comparison");
            };
            Value::Bool(others.iter().any(|other| same(first, other)))
        }
        "ne" => {
            arity(2)?;
            Value::Bool(!same(&arguments[0], &arguments[1]))
        }
        "lt" | "le" | "gt" | "ge" => {
            arity(2)?;
            let ordering = compare(&arguments[0], &arguments[1])?;
            Value::Bool(match name {
                "lt" => ordering.is_lt(),
                "le" => ordering.is_le(),
                "gt" => ordering.is_gt(),
                _ => ordering.is_ge(),
            })
        }
        "len" => {
            arity(1)?;
            Value::from(match &arguments[0] {
                Value::String(text) => text.len(),
                Value::Array(items) => items.len(),
                Value::Object(map) => map.len(),
                Value::Null => 0,
                other => return error(format!("len of {other}")),
            })
        }
        "index" => {
            let Some((collection, keys)) = arguments.split_first() else {
                return error("index of nothing");
            };
            let mut current = collection.clone();
            for key in keys {
                current = match (&current, key) {
                    (Value::Array(items), Value::Number(number)) => number
                        .as_u64()
                        .and_then(|index| items.get(usize::try_from(index).ok()?))
                        .cloned()
                        .ok_or_else(|| TemplateError(format!("index out of range: {number}")))?,
                    (Value::Object(map), Value::String(key)) => {
                        map.get(key).cloned().unwrap_or(Value::Null)
                    }
                    (Value::Null, _) => Value::Null,
                    _ => return error(format!("can't index {current} with {key}")),
                };
            }
            current
        }
        "join" => {
            arity(2)?;
            let Value::Array(items) = &arguments[0] else {
                return error("join: first argument must be a list");
            };
            Value::String(
                items
                    .iter()
                    .map(text_of)
                    .collect::<Vec<_>>()
                    .join(&text_of(&arguments[1])),
            )
        }
        "print" | "println" => {
            let mut text = String::new();
            for (index, argument) in arguments.iter().enumerate() {
                let is_string = argument.is_string();
                let previous_is_string = index > 0 && arguments[index - 1].is_string();
                // Go's Sprint puts a space between operands when neither is a
                // string; Sprintln always does.
                if index > 0 && (name == "println" || (!is_string && !previous_is_string)) {
                    text.push(' ');
                }
                text.push_str(&text_of(argument));
            }
            if name == "println" {
                text.push('\n');
            }
            Value::String(text)
        }
        "printf" => {
            let Some((Value::String(format), values)) = arguments.split_first() else {
                return error("printf: the first argument must be a format string");
            };
            Value::String(printf(format, values))
        }
        other => return error(format!("function {other:?} not defined")),
    })
}

fn same(left: &Value, right: &Value) -> bool {
    match (left.as_f64(), right.as_f64()) {
        (Some(left), Some(right)) => left == right,
        _ => left == right,
    }
}

fn compare(left: &Value, right: &Value) -> Result<std::cmp::Ordering, TemplateError> {
    match (left, right) {
        (Value::String(left), Value::String(right)) => Ok(left.cmp(right)),
        _ => match (left.as_f64(), right.as_f64()) {
            (Some(left), Some(right)) => left
                .partial_cmp(&right)
                .ok_or_else(|| TemplateError("incomparable numbers".into())),
            _ => error(format!(
                "incompatible types for comparison: {left}, {right}"
            )),
        },
    }
}

/// Go's `printf` for the verbs templates use: `%s %v %d %q %%` with an
/// optional width (`%-20s`, `%5d`).
fn printf(format: &str, values: &[Value]) -> String {
    let mut output = String::new();
    let mut arguments = values.iter();
    let mut characters = format.chars().peekable();
    while let Some(character) = characters.next() {
        if character != '%' {
            output.push(character);
            continue;
        }
        let mut flags = String::new();
        while let Some(&next) = characters.peek() {
            if next == '-' || next.is_ascii_digit() {
                flags.push(next);
                characters.next();
            } else {
                break;
            }
        }
        let Some(verb) = characters.next() else {
            output.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            output.push('%');
            continue;
        }
        let Some(argument) = arguments.next() else {
            let _ = write!(output, "%!{verb}(MISSING)");
            continue;
        };
        let text = match verb {
            'q' => format!("{:?}", text_of(argument)),
            _ => text_of(argument),
        };
        let left = flags.starts_with('-');
        let width: usize = flags.trim_start_matches('-').parse().unwrap_or(0);
        let padding = width.saturating_sub(text.chars().count());
        if left {
            output.push_str(&text);
            output.extend(std::iter::repeat_n(' ', padding));
        } else {
            output.extend(std::iter::repeat_n(' ', padding));
            output.push_str(&text);
        }
    }
    output
}

#[cfg(test)]
#[path = "go_template_tests.rs"]
mod tests;
