//! Executes a parse tree the way Go's `text/template/exec.go` does under Helm's options
//! (`missingkey=zero`, `<no value>` stripped from the output).

use std::borrow::Cow;

use super::ast::{Arg, Command, Control, Node, Number, Pipeline};
use super::format::format_v;
use super::funcs::{self, Param, Templates};
use super::value::{Fail, R, Value, eval_err, sorted_keys, unsupported};
use super::{Span, TemplateContext, TemplateError};

pub(crate) fn render<'a>(
    src: &'a str,
    nodes: &'a [Node],
    ctx: &TemplateContext<'a>,
) -> Result<String, TemplateError> {
    let mut state = State {
        src,
        ctx: *ctx,
        vars: vec![("$".to_string(), Value::Root)],
        out: String::new(),
    };
    state.walk_list(&Value::Root, nodes)?;
    // Helm: strings.ReplaceAll(buf.String(), "<no value>", "").
    Ok(state.out.replace("<no value>", ""))
}

struct State<'a> {
    src: &'a str,
    ctx: TemplateContext<'a>,
    vars: Vec<(String, Value<'a>)>,
    out: String,
}

struct Named<'a>(TemplateContext<'a>);

impl Templates for Named<'_> {
    fn named(&self, name: &str) -> Option<&str> {
        self.0.named_templates.get(name).map(String::as_str)
    }
}

impl<'a> State<'a> {
    fn at(&self, span: Span, fail: Fail) -> TemplateError {
        TemplateError::at(self.src, span, fail.kind, fail.message)
    }

    fn walk_list(&mut self, dot: &Value<'a>, nodes: &'a [Node]) -> Result<(), TemplateError> {
        for node in nodes {
            match node {
                Node::Text(t) => self.out.push_str(t),
                Node::Action { span, pipe } => {
                    let v = self
                        .eval_pipeline(dot, pipe)
                        .map_err(|f| self.at(*span, f))?;
                    if pipe.decl.is_empty() {
                        self.print(&v).map_err(|f| self.at(*span, f))?;
                    }
                }
                Node::If(c) => self.walk_if_with(dot, c, false)?,
                Node::With(c) => self.walk_if_with(dot, c, true)?,
                Node::Range(c) => self.walk_range(dot, c)?,
                Node::Template { span, name, pipe } => {
                    self.walk_template(dot, name, pipe.as_ref())
                        .map_err(|f| self.at(*span, f))?;
                }
            }
        }
        Ok(())
    }

    fn print(&mut self, v: &Value<'a>) -> R<()> {
        if v.is_nil() {
            self.out.push_str("<no value>");
            return Ok(());
        }
        let s = format_v(v)?;
        self.out.push_str(&s);
        Ok(())
    }

    fn walk_if_with(
        &mut self,
        dot: &Value<'a>,
        c: &'a Control,
        with: bool,
    ) -> Result<(), TemplateError> {
        let mark = self.vars.len();
        let result = (|| {
            let val = self
                .eval_pipeline(dot, &c.pipe)
                .map_err(|f| self.at(c.span, f))?;
            if val.truth() {
                if with {
                    self.walk_list(&val, &c.list)
                } else {
                    self.walk_list(dot, &c.list)
                }
            } else if let Some(else_list) = &c.else_list {
                self.walk_list(dot, else_list)
            } else {
                Ok(())
            }
        })();
        self.vars.truncate(mark);
        result
    }

    fn walk_range(&mut self, dot: &Value<'a>, c: &'a Control) -> Result<(), TemplateError> {
        let mark0 = self.vars.len();
        let result = self.walk_range_inner(dot, c);
        self.vars.truncate(mark0);
        result
    }

    fn walk_range_inner(&mut self, dot: &Value<'a>, c: &'a Control) -> Result<(), TemplateError> {
        if c.pipe.is_assign {
            return Err(self.at(
                c.span,
                Fail {
                    kind: super::TemplateErrorKind::Unsupported,
                    message: "range with `=` assignment is not supported".to_string(),
                },
            ));
        }
        let val = self
            .eval_pipeline(dot, &c.pipe)
            .map_err(|f| self.at(c.span, f))?;
        let mark = self.vars.len();
        let ndecl = c.pipe.decl.len();
        let iteration = |st: &mut Self, index: Value<'a>, elem: Value<'a>| {
            let top = st.vars.len();
            if ndecl > 0 && top >= 1 {
                st.vars[top - 1].1 = elem.clone();
            }
            if ndecl > 1 && top >= 2 {
                st.vars[top - 2].1 = index;
            }
            let r = st.walk_list(&elem, &c.list);
            st.vars.truncate(mark);
            r
        };
        match val {
            Value::List(items) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    iteration(self, Value::Int(i as i64), Value::from_slot(item))?;
                }
                return Ok(());
            }
            Value::Map(m) if !m.is_empty() => {
                for k in sorted_keys(m) {
                    let item = m.get(k).map_or(Value::NilIface, Value::from_slot);
                    iteration(self, Value::Str(Cow::Borrowed(k.as_str())), item)?;
                }
                return Ok(());
            }
            Value::List(_) | Value::Map(_) | Value::Nil | Value::NilIface => {}
            Value::Int(_) => {
                return Err(self.at(
                    c.span,
                    Fail {
                        kind: super::TemplateErrorKind::Unsupported,
                        message: "range over an integer is not supported".to_string(),
                    },
                ));
            }
            other => {
                let fail = match other.plain("range") {
                    Err(f) => f,
                    Ok(()) => Fail {
                        kind: super::TemplateErrorKind::Evaluation,
                        message: format!(
                            "range can't iterate over {}",
                            format_v(&other).unwrap_or_default()
                        ),
                    },
                };
                return Err(self.at(c.span, fail));
            }
        }
        if let Some(else_list) = &c.else_list {
            self.walk_list(dot, else_list)?;
        }
        Ok(())
    }

    fn walk_template(&mut self, dot: &Value<'a>, name: &str, pipe: Option<&'a Pipeline>) -> R<()> {
        let Some(text) = self.ctx.named_templates.get(name) else {
            return eval_err(format!("template {name:?} not defined"));
        };
        let data = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Nil,
        };
        if !matches!(data, Value::Root) {
            return unsupported(format!(
                "template {name:?} with a context other than the root (`.` at top level or `$`)"
            ));
        }
        self.out.push_str(text);
        Ok(())
    }

    fn eval_pipeline(&mut self, dot: &Value<'a>, pipe: &'a Pipeline) -> R<Value<'a>> {
        let mut value: Option<Value<'a>> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?.dig());
        }
        let value = value.unwrap_or(Value::Nil);
        for var in &pipe.decl {
            if pipe.is_assign {
                self.set_var(var, value.clone())?;
            } else {
                self.vars.push((var.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn var_value(&self, name: &str) -> R<Value<'a>> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => eval_err(format!("undefined variable: {name}")),
        }
    }

    fn set_var(&mut self, name: &str, value: Value<'a>) -> R<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => eval_err(format!("undefined variable: {name}")),
        }
    }

    fn eval_command(
        &mut self,
        dot: &Value<'a>,
        cmd: &'a Command,
        fin: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let Some(first) = cmd.args.first() else {
            return eval_err("empty command");
        };
        let has_args = cmd.args.len() > 1 || fin.is_some();
        match first {
            Arg::Field(idents) => self.eval_fields(dot.clone(), idents, has_args),
            Arg::Chain(base, idents) => {
                let receiver = self.eval_arg(dot, Param::Any, base)?.dig();
                self.eval_fields(receiver, idents, has_args)
            }
            Arg::Ident(name) => self.eval_function(dot, name, &cmd.args[1..], fin),
            Arg::Variable(name, idents) => {
                let v = self.var_value(name)?;
                if idents.is_empty() {
                    not_a_function(first, has_args)?;
                    Ok(v)
                } else {
                    self.eval_fields(v, idents, has_args)
                }
            }
            Arg::Pipe(p) => {
                not_a_function(first, has_args)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Bool(b) => {
                not_a_function(first, has_args)?;
                Ok(Value::Bool(*b))
            }
            Arg::Dot => {
                not_a_function(first, has_args)?;
                Ok(dot.clone())
            }
            Arg::Nil => {
                not_a_function(first, has_args)?;
                eval_err("nil is not a command")
            }
            Arg::Number(n) => {
                not_a_function(first, has_args)?;
                ideal_constant(n)
            }
            Arg::Str(s) => {
                not_a_function(first, has_args)?;
                Ok(Value::str(s.as_str()))
            }
        }
    }

    /// Walks `.a.b.c` from `receiver`; `has_args` applies to the last field.
    fn eval_fields(
        &self,
        mut receiver: Value<'a>,
        idents: &[String],
        has_args: bool,
    ) -> R<Value<'a>> {
        let n = idents.len();
        for (i, name) in idents.iter().enumerate() {
            receiver = self.eval_field(receiver, name, has_args && i + 1 == n)?;
        }
        Ok(receiver)
    }

    fn eval_field(&self, receiver: Value<'a>, name: &str, has_args: bool) -> R<Value<'a>> {
        let not_method = || eval_err(format!("{name} is not a method but has arguments"));
        match receiver {
            Value::Nil => Ok(Value::Nil),
            Value::NilIface => eval_err(format!("nil pointer evaluating interface {{}}.{name}")),
            Value::Map(m) => {
                if has_args {
                    return not_method();
                }
                Ok(m.get(name).map_or(Value::NilIface, Value::from_slot))
            }
            Value::Root => {
                if has_args {
                    return not_method();
                }
                match name {
                    "Values" => Ok(Value::values_root(self.ctx.values)),
                    "Chart" => Ok(Value::Chart),
                    "Release" => Ok(Value::Release),
                    "Capabilities" | "Files" | "Template" | "Subcharts" => {
                        unsupported(format!(".{name} is not supported"))
                    }
                    _ => Ok(Value::NilIface),
                }
            }
            Value::Release => {
                if has_args {
                    return not_method();
                }
                match name {
                    "Name" => Ok(Value::str(self.ctx.release_name)),
                    "Namespace" => Ok(Value::str(self.ctx.release_namespace)),
                    "Service" => Ok(Value::str("Helm")),
                    "IsUpgrade" | "IsInstall" | "Revision" => {
                        unsupported(format!(".Release.{name} is not supported"))
                    }
                    _ => Ok(Value::NilIface),
                }
            }
            Value::Chart => match name {
                "Name" if has_args => eval_err(format!(
                    "{name} has arguments but cannot be invoked as function"
                )),
                "Name" => Ok(Value::str(self.ctx.chart_name)),
                "Home" | "Sources" | "Version" | "Description" | "Keywords" | "Maintainers"
                | "Icon" | "APIVersion" | "Condition" | "Tags" | "AppVersion" | "Deprecated"
                | "Annotations" | "KubeVersion" | "Dependencies" | "Type" | "Validate" => {
                    unsupported(format!(".Chart.{name} is not supported"))
                }
                _ => eval_err(format!(
                    "can't evaluate field {name} in type *chart.Metadata"
                )),
            },
            other => eval_err(format!(
                "can't evaluate field {name} in type {}",
                other.type_name()
            )),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value<'a>,
        name: &str,
        args: &'a [Arg],
        fin: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let Some(sig) = funcs::signature(name) else {
            return unsupported(format!("function {name:?} is not supported"));
        };
        let num_in = args.len() + usize::from(fin.is_some());
        let nfixed = sig.fixed.len();
        match sig.variadic {
            Some(_) if num_in < nfixed => {
                return eval_err(format!(
                    "wrong number of args for {name}: want at least {nfixed} got {}",
                    args.len()
                ));
            }
            None if num_in != nfixed => {
                return eval_err(format!(
                    "wrong number of args for {name}: want {nfixed} got {num_in}"
                ));
            }
            _ => {}
        }
        let param = |i: usize| -> Param {
            sig.fixed
                .get(i)
                .copied()
                .or(sig.variadic)
                .unwrap_or(Param::Any)
        };
        if name == "and" || name == "or" {
            // Short-circuit: return the first deciding operand, else the last.
            let want = name == "or";
            let mut v = Value::Nil;
            for arg in args {
                v = self.eval_arg(dot, Param::Reflect, arg)?;
                if v.truth() == want {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in);
        for (i, arg) in args.iter().enumerate() {
            argv.push(self.eval_arg(dot, param(i), arg)?);
        }
        if let Some(f) = fin {
            let p = if sig.variadic.is_some() && num_in > nfixed {
                sig.variadic.unwrap_or(Param::Any)
            } else {
                param(num_in - 1)
            };
            argv.push(validate(f, p)?);
        }
        funcs::call(name, argv, &Named(self.ctx))
    }

    /// Go's `evalArg`: literals are typed by the parameter; everything else is evaluated and
    /// then checked against it.
    fn eval_arg(&mut self, dot: &Value<'a>, p: Param, arg: &'a Arg) -> R<Value<'a>> {
        let expected = |what: &str| match p {
            Param::Str => eval_err(format!("expected string; found {what}")),
            Param::Int => eval_err(format!("expected integer; found {what}")),
            _ => eval_err(format!(
                "can't handle {what} for arg of type {}",
                p.go_name()
            )),
        };
        match arg {
            Arg::Dot => validate(dot.clone(), p),
            Arg::Nil => match p {
                Param::Any | Param::Reflect | Param::Map => Ok(Value::Nil),
                _ => eval_err(format!("cannot assign nil to {}", p.go_name())),
            },
            Arg::Field(idents) => {
                let v = self.eval_fields(dot.clone(), idents, false)?;
                validate(v, p)
            }
            Arg::Variable(name, idents) => {
                let v = self.var_value(name)?;
                let v = self.eval_fields(v, idents, false)?;
                validate(v, p)
            }
            Arg::Pipe(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                validate(v, p)
            }
            Arg::Ident(name) => {
                let v = self.eval_function(dot, name, &[], None)?;
                validate(v, p)
            }
            Arg::Chain(base, idents) => {
                let receiver = self.eval_arg(dot, Param::Any, base)?.dig();
                let v = self.eval_fields(receiver, idents, false)?;
                validate(v, p)
            }
            Arg::Bool(b) => match p {
                Param::Any | Param::Reflect => Ok(Value::Bool(*b)),
                _ => expected(&b.to_string()),
            },
            Arg::Number(n) => match p {
                Param::Any | Param::Reflect => ideal_constant(n),
                Param::Int => match n.int {
                    Some(i) => Ok(Value::Int(i)),
                    None => expected(&n.text),
                },
                _ => expected(&n.text),
            },
            Arg::Str(s) => match p {
                Param::Any | Param::Reflect | Param::Str => Ok(Value::str(s.as_str())),
                _ => expected(&format!("{s:?}")),
            },
        }
    }
}

/// Go's `validateType` for the parameter kinds in use.
fn validate(v: Value<'_>, p: Param) -> R<Value<'_>> {
    let ok = match (&v, p) {
        (_, Param::Any | Param::Reflect) => true,
        (Value::Str(_), Param::Str) => true,
        (Value::Int(_), Param::Int) => true,
        (Value::Map(_) | Value::Nil, Param::Map) => true,
        (Value::Root | Value::Release, Param::Map) => {
            return unsupported("the root context or .Release as a map argument is not supported");
        }
        _ => false,
    };
    if ok {
        return Ok(v);
    }
    if matches!(v, Value::Nil) {
        return eval_err(format!("invalid value; expected {}", p.go_name()));
    }
    eval_err(format!(
        "wrong type for value; expected {}; got {}",
        p.go_name(),
        v.type_name()
    ))
}

fn not_a_function(first: &Arg, has_args: bool) -> R<()> {
    if has_args {
        return eval_err(format!(
            "can't give argument to non-function {}",
            first.describe()
        ));
    }
    Ok(())
}

/// Go's `idealConstant`: a number literal used where no type is expected.
fn ideal_constant(n: &Number) -> R<Value<'static>> {
    if n.is_char {
        return Ok(Value::Int(n.int.unwrap_or(0)));
    }
    let t = &n.text;
    let is_hex_int =
        t.len() > 2 && (t.starts_with("0x") || t.starts_with("0X")) && !t.contains(['p', 'P']);
    if let Some(f) = n.float
        && !is_hex_int
        && t.contains(['.', 'e', 'E', 'p', 'P'])
    {
        return Ok(Value::Float(f));
    }
    if let Some(i) = n.int {
        return Ok(Value::Int(i));
    }
    if n.uint_only {
        return eval_err(format!("{t} overflows int"));
    }
    Ok(Value::Nil)
}
