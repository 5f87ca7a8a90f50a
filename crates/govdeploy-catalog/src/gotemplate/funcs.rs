//! The function table: Go's builtins and the Helm/sprig functions of the supported subset, with
//! Go's argument checking (arity, typed parameters) and their exact results.

use super::format::{format_v, go_quote, sprint, sprintf, sprintln};
use super::value::{Fail, R, Value, eval_err, unsupported};
use super::{TemplateErrorKind, json, yaml};

pub(crate) enum FnStatus {
    Supported,
    /// Defined in Helm but outside the subset.
    Unsupported,
    /// Not defined in Helm: a parse error there too.
    Unknown,
}

/// Go parameter types that matter for argument checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param {
    /// `interface{}`.
    Any,
    /// `reflect.Value` (Go builtins).
    Reflect,
    Str,
    Int,
    /// `map[string]interface{}`.
    Map,
}

impl Param {
    pub(crate) fn go_name(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::Reflect => "reflect.Value",
            Param::Str => "string",
            Param::Int => "int",
            Param::Map => "map[string]interface {}",
        }
    }
}

pub(crate) struct Signature {
    pub fixed: &'static [Param],
    pub variadic: Option<Param>,
}

const fn sig(fixed: &'static [Param], variadic: Option<Param>) -> Signature {
    Signature { fixed, variadic }
}

use Param::{Any, Int, Map, Reflect, Str};

pub(crate) fn signature(name: &str) -> Option<Signature> {
    Some(match name {
        "and" | "or" | "eq" | "index" => sig(&[Reflect], Some(Reflect)),
        "not" | "len" => sig(&[Reflect], None),
        "ne" | "lt" | "le" | "gt" | "ge" => sig(&[Reflect, Reflect], None),
        "print" | "println" | "quote" | "squote" => sig(&[], Some(Any)),
        "printf" => sig(&[Str], Some(Any)),
        "default" => sig(&[Any], Some(Any)),
        "empty" | "toYaml" | "toJson" => sig(&[Any], None),
        "indent" | "nindent" => sig(&[Int, Str], None),
        "trim" | "upper" | "lower" | "b64enc" => sig(&[Str], None),
        "replace" => sig(&[Str, Str, Str], None),
        "trimSuffix" | "trimPrefix" | "contains" => sig(&[Str, Str], None),
        "hasKey" => sig(&[Map, Str], None),
        "required" | "include" => sig(&[Str, Any], None),
        _ => return None,
    })
}

/// Helm's other functions (Go builtins, sprig minus `env`/`expandenv`, Helm's own).
const KNOWN_UNSUPPORTED: &[&str] = &[
    // Go builtins
    "call",
    "html",
    "js",
    "slice",
    "urlquery",
    // Helm
    "tpl",
    "lookup",
    "toToml",
    "fromToml",
    "mustToYaml",
    "toYamlPretty",
    "fromYaml",
    "fromYamlArray",
    "mustToJson",
    "fromJson",
    "fromJsonArray",
    "mustFromJson",
    // sprig
    "hello",
    "ago",
    "date",
    "date_in_zone",
    "date_modify",
    "dateInZone",
    "dateModify",
    "duration",
    "durationRound",
    "htmlDate",
    "htmlDateInZone",
    "must_date_modify",
    "mustDateModify",
    "mustToDate",
    "now",
    "toDate",
    "unixEpoch",
    "abbrev",
    "abbrevboth",
    "trunc",
    "title",
    "untitle",
    "substr",
    "repeat",
    "trimall",
    "trimAll",
    "nospace",
    "initials",
    "randAlphaNum",
    "randAlpha",
    "randAscii",
    "randNumeric",
    "swapcase",
    "shuffle",
    "snakecase",
    "camelcase",
    "kebabcase",
    "wrap",
    "wrapWith",
    "hasPrefix",
    "hasSuffix",
    "cat",
    "plural",
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "adler32sum",
    "toString",
    "atoi",
    "int64",
    "int",
    "float64",
    "seq",
    "toDecimal",
    "split",
    "splitList",
    "splitn",
    "toStrings",
    "until",
    "untilStep",
    "add1",
    "add",
    "sub",
    "div",
    "mod",
    "mul",
    "randInt",
    "add1f",
    "addf",
    "subf",
    "divf",
    "mulf",
    "biggest",
    "max",
    "min",
    "maxf",
    "minf",
    "ceil",
    "floor",
    "round",
    "join",
    "sortAlpha",
    "coalesce",
    "all",
    "any",
    "compact",
    "mustCompact",
    "toPrettyJson",
    "toRawJson",
    "mustToPrettyJson",
    "mustToRawJson",
    "ternary",
    "deepCopy",
    "mustDeepCopy",
    "typeOf",
    "typeIs",
    "typeIsLike",
    "kindOf",
    "kindIs",
    "deepEqual",
    "getHostByName",
    "base",
    "dir",
    "clean",
    "ext",
    "isAbs",
    "osBase",
    "osClean",
    "osDir",
    "osExt",
    "osIsAbs",
    "b64dec",
    "b32enc",
    "b32dec",
    "tuple",
    "list",
    "dict",
    "get",
    "set",
    "unset",
    "pluck",
    "keys",
    "pick",
    "omit",
    "merge",
    "mergeOverwrite",
    "mustMerge",
    "mustMergeOverwrite",
    "values",
    "append",
    "push",
    "mustAppend",
    "mustPush",
    "prepend",
    "mustPrepend",
    "first",
    "mustFirst",
    "rest",
    "mustRest",
    "last",
    "mustLast",
    "initial",
    "mustInitial",
    "reverse",
    "mustReverse",
    "uniq",
    "mustUniq",
    "without",
    "mustWithout",
    "has",
    "mustHas",
    "mustSlice",
    "concat",
    "dig",
    "chunk",
    "mustChunk",
    "bcrypt",
    "htpasswd",
    "genPrivateKey",
    "derivePassword",
    "buildCustomCert",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "encryptAES",
    "decryptAES",
    "randBytes",
    "uuidv4",
    "semver",
    "semverCompare",
    "fail",
    "regexMatch",
    "mustRegexMatch",
    "regexFindAll",
    "mustRegexFindAll",
    "regexFind",
    "mustRegexFind",
    "regexReplaceAll",
    "mustRegexReplaceAll",
    "regexReplaceAllLiteral",
    "mustRegexReplaceAllLiteral",
    "regexSplit",
    "mustRegexSplit",
    "regexQuoteMeta",
    "urlParse",
    "urlJoin",
];

pub(crate) fn status(name: &str) -> FnStatus {
    if signature(name).is_some() {
        FnStatus::Supported
    } else if KNOWN_UNSUPPORTED.contains(&name) {
        FnStatus::Unsupported
    } else {
        FnStatus::Unknown
    }
}

/// Upper bound on what `indent`/`nindent` may produce.
const MAX_INDENT_OUTPUT: usize = 64 * 1024 * 1024;

/// Named templates the evaluator can produce.
pub(crate) trait Templates {
    fn named(&self, name: &str) -> Option<&str>;
}

/// Calls a supported function on evaluated arguments (the piped value already appended).
pub(crate) fn call<'a>(
    name: &str,
    args: Vec<Value<'a>>,
    templates: &dyn Templates,
) -> R<Value<'a>> {
    let wrap = |r: R<Value<'a>>| -> R<Value<'a>> {
        r.map_err(|f| match f.kind {
            TemplateErrorKind::Evaluation if name != "required" => Fail {
                kind: f.kind,
                message: format!("error calling {name}: {}", f.message),
            },
            _ => f,
        })
    };
    let mut args = args.into_iter();
    let mut next = || args.next().unwrap_or(Value::Nil);
    match name {
        "not" => Ok(Value::Bool(!next().truth())),
        "len" => wrap(length(&next())),
        "index" => {
            let item = next();
            let keys: Vec<Value<'a>> = std::iter::from_fn(|| args.next()).collect();
            wrap(index(item, keys))
        }
        "eq" => {
            let first = next();
            let rest: Vec<Value<'a>> = std::iter::from_fn(|| args.next()).collect();
            wrap(eq(&first, &rest).map(Value::Bool))
        }
        "ne" => {
            let (a, b) = (next(), next());
            wrap(eq(&a, &[b]).map(|t| Value::Bool(!t)))
        }
        "lt" => {
            let (a, b) = (next(), next());
            wrap(lt(&a, &b).map(Value::Bool))
        }
        "le" => {
            let (a, b) = (next(), next());
            wrap(le(&a, &b).map(Value::Bool))
        }
        "gt" => {
            let (a, b) = (next(), next());
            wrap(le(&a, &b).map(|t| Value::Bool(!t)))
        }
        "ge" => {
            let (a, b) = (next(), next());
            wrap(lt(&a, &b).map(|t| Value::Bool(!t)))
        }
        "print" => {
            let all: Vec<Value<'a>> = std::iter::from_fn(|| args.next()).collect();
            Ok(Value::str(sprint(&all)?))
        }
        "println" => {
            let all: Vec<Value<'a>> = std::iter::from_fn(|| args.next()).collect();
            Ok(Value::str(sprintln(&all)?))
        }
        "printf" => {
            let format = next();
            let rest: Vec<Value<'a>> = std::iter::from_fn(|| args.next()).collect();
            Ok(Value::str(sprintf(&as_str(&format), &rest)?))
        }
        "default" => {
            let d = next();
            match args.next() {
                Some(given) if !empty(&given)? => Ok(given),
                _ => Ok(d),
            }
        }
        "empty" => Ok(Value::Bool(empty(&next())?)),
        "quote" | "squote" => {
            let mut parts = Vec::new();
            for a in args {
                if a.is_nil() {
                    continue;
                }
                a.plain(name)?;
                let s = format_v(&a)?;
                parts.push(if name == "quote" {
                    go_quote(&s)
                } else {
                    format!("'{s}'")
                });
            }
            Ok(Value::str(parts.join(" ")))
        }
        "toYaml" => Ok(Value::str(yaml::to_yaml(&next())?)),
        "toJson" => Ok(Value::str(json::to_json(&next())?)),
        "indent" | "nindent" => {
            let (n, s) = (next(), next());
            let n = match n {
                Value::Int(n) => n,
                _ => 0,
            };
            let Ok(n) = usize::try_from(n) else {
                return wrap(eval_err("strings: negative Repeat count"));
            };
            let s = as_str(&s);
            let lines = s.matches('\n').count() + 1;
            if n.saturating_mul(lines).saturating_add(s.len()) > MAX_INDENT_OUTPUT {
                return unsupported(format!(
                    "{name} output larger than {MAX_INDENT_OUTPUT} bytes"
                ));
            }
            let pad = " ".repeat(n);
            let mut out = String::new();
            if name == "nindent" {
                out.push('\n');
            }
            out.push_str(&pad);
            out.push_str(&s.replace('\n', &format!("\n{pad}")));
            Ok(Value::str(out))
        }
        "trim" => Ok(Value::str(as_str(&next()).trim().to_string())),
        "upper" => Ok(Value::str(map_chars(&as_str(&next()), true))),
        "lower" => Ok(Value::str(map_chars(&as_str(&next()), false))),
        "b64enc" => Ok(Value::str(base64(as_str(&next()).as_bytes()))),
        "replace" => {
            let (old, new, src) = (next(), next(), next());
            Ok(Value::str(
                as_str(&src).replace(&*as_str(&old), &as_str(&new)),
            ))
        }
        "trimSuffix" => {
            let (suffix, s) = (next(), next());
            let s = as_str(&s);
            let suffix = as_str(&suffix);
            Ok(Value::str(
                s.strip_suffix(&*suffix).unwrap_or(&s).to_string(),
            ))
        }
        "trimPrefix" => {
            let (prefix, s) = (next(), next());
            let s = as_str(&s);
            let prefix = as_str(&prefix);
            Ok(Value::str(
                s.strip_prefix(&*prefix).unwrap_or(&s).to_string(),
            ))
        }
        "contains" => {
            let (sub, s) = (next(), next());
            Ok(Value::Bool(as_str(&s).contains(&*as_str(&sub))))
        }
        "hasKey" => {
            let (m, key) = (next(), next());
            match m {
                Value::Map(m) => Ok(Value::Bool(m.contains_key(&*as_str(&key)))),
                _ => Ok(Value::Bool(false)), // a nil map
            }
        }
        "required" => {
            let (warn, val) = (next(), next());
            let missing = match &val {
                Value::Str(s) => s.is_empty(),
                v => v.is_nil(),
            };
            if missing {
                return eval_err(as_str(&warn).into_owned());
            }
            Ok(val)
        }
        "include" => {
            let (tname, data) = (next(), next());
            let tname = as_str(&tname);
            let Some(text) = templates.named(&tname) else {
                return wrap(eval_err(format!(
                    "template: no template {tname:?} associated with template \"gotpl\""
                )));
            };
            if !matches!(data, Value::Root) {
                return unsupported(format!(
                    "include {tname:?} with a context other than the root (`.` at top level or `$`)"
                ));
            }
            Ok(Value::str(text.to_string()))
        }
        other => unsupported(format!("function {other:?} is not supported")),
    }
}

fn as_str<'v>(v: &'v Value) -> std::borrow::Cow<'v, str> {
    match v {
        Value::Str(s) => std::borrow::Cow::Borrowed(s),
        _ => std::borrow::Cow::Borrowed(""),
    }
}

/// sprig's `empty`.
fn empty(v: &Value) -> R<bool> {
    Ok(v.is_empty())
}

/// Go's `strings.ToUpper`/`ToLower` map each rune with its simple case mapping.
fn map_chars(s: &str, upper: bool) -> String {
    s.chars()
        .map(|c| {
            let mut m: Vec<char> = if upper {
                c.to_uppercase().collect()
            } else {
                c.to_lowercase().collect()
            };
            match (m.len(), c) {
                (1, _) => m.pop().unwrap_or(c),
                (_, '\u{130}') if !upper => 'i',
                _ => c,
            }
        })
        .collect()
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn length(v: &Value) -> R<Value<'static>> {
    match v {
        Value::NilIface => eval_err("len of nil pointer"),
        Value::Nil => eval_err("len of untyped nil"),
        Value::Str(s) => Ok(Value::Int(s.len() as i64)),
        Value::List(l) => Ok(Value::Int(l.len() as i64)),
        Value::Map(m) => Ok(Value::Int(m.len() as i64)),
        Value::Root | Value::Chart | Value::Release => {
            v.plain("len")?;
            eval_err("unreachable")
        }
        other => eval_err(format!("len of type {}", other.type_name())),
    }
}

/// Go's builtin `index`; a missing map key yields nil.
fn index<'a>(item: Value<'a>, keys: Vec<Value<'a>>) -> R<Value<'a>> {
    let mut item = item.dig();
    if item.is_nil() {
        return eval_err("index of untyped nil");
    }
    for key in keys {
        let key = key.dig();
        item = match item {
            Value::NilIface | Value::Nil => return eval_err("index of nil pointer"),
            Value::List(l) => {
                let i = index_arg(&key, l.len())?;
                l.get(i).map_or(Value::NilIface, Value::from_slot)
            }
            Value::Str(s) => {
                let i = index_arg(&key, s.len())?;
                Value::Int(i64::from(s.as_bytes().get(i).copied().unwrap_or(0)))
            }
            Value::Map(m) => match &key {
                Value::Str(k) => m.get(k.as_ref()).map_or(Value::NilIface, Value::from_slot),
                Value::Nil => return eval_err("value is nil; should be of type string"),
                other => {
                    return eval_err(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    ));
                }
            },
            other @ (Value::Root | Value::Chart | Value::Release) => {
                other.plain("index")?;
                Value::Nil
            }
            other => return eval_err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn index_arg(key: &Value, len: usize) -> R<usize> {
    match key {
        Value::Int(i) => match usize::try_from(*i) {
            Ok(x) if x < len => Ok(x),
            _ => eval_err(format!("index out of range: {i}")),
        },
        Value::Nil | Value::NilIface => eval_err("cannot index slice/array with nil"),
        other => eval_err(format!(
            "cannot index slice/array with type {}",
            other.type_name()
        )),
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        _ => Kind::Invalid,
    }
}

/// Go's builtin `eq` (Go 1.18+: nil compares with anything without error).
fn eq(a: &Value, others: &[Value]) -> R<bool> {
    if others.is_empty() {
        return eval_err("missing argument for comparison");
    }
    let a = a.clone().dig();
    a.plain("comparison")?;
    let k1 = basic_kind(&a);
    for b in others {
        let b = b.clone().dig();
        b.plain("comparison")?;
        let k2 = basic_kind(&b);
        let truth = if k1 != k2 {
            if !a.is_nil() && !b.is_nil() {
                return eval_err(format!(
                    "incompatible types for comparison: {} and {}",
                    a.type_name(),
                    b.type_name()
                ));
            }
            false
        } else {
            match (&a, &b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Int(x), Value::Int(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::Str(x), Value::Str(y)) => x == y,
                _ => {
                    // Both of invalid basic kind: nil, maps, lists.
                    let same_kind = std::mem::discriminant(&a) == std::mem::discriminant(&b);
                    if !same_kind && !a.is_nil() && !b.is_nil() {
                        return eval_err(format!(
                            "non-comparable types {}, {}",
                            a.type_name(),
                            b.type_name()
                        ));
                    }
                    if a.is_nil() || b.is_nil() {
                        a.is_nil() == b.is_nil()
                    } else {
                        return eval_err(format!("non-comparable type {}", b.type_name()));
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's builtin `lt`.
fn lt(a: &Value, b: &Value) -> R<bool> {
    let a = a.clone().dig();
    let b = b.clone().dig();
    a.plain("comparison")?;
    b.plain("comparison")?;
    let (k1, k2) = (basic_kind(&a), basic_kind(&b));
    if k1 == Kind::Invalid || k2 == Kind::Invalid {
        return eval_err("invalid type for comparison");
    }
    if k1 != k2 {
        return eval_err(format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        ));
    }
    match (&a, &b) {
        (Value::Int(x), Value::Int(y)) => Ok(x < y),
        (Value::Float(x), Value::Float(y)) => Ok(x < y),
        (Value::Str(x), Value::Str(y)) => Ok(x < y),
        _ => eval_err("invalid type for comparison"),
    }
}

fn le(a: &Value, b: &Value) -> R<bool> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}
