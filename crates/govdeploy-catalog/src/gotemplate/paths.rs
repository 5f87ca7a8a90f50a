//! Static listing of the `.Values` paths a template reads (no evaluation).

use std::collections::BTreeSet;

use super::ast::{Arg, Command, Control, Node, Pipeline};

/// What an expression is known to denote.
#[derive(Debug, Clone)]
enum Abs {
    /// The top-level context (`$`, or `.` outside `with`/`range`).
    Root,
    /// `.Values` followed by these keys.
    Values(Vec<String>),
    Unknown,
}

pub(crate) fn values_paths(nodes: &[Node]) -> Vec<Vec<String>> {
    let mut w = Walker {
        vars: vec![("$".to_string(), Abs::Root)],
        paths: BTreeSet::new(),
    };
    w.list(&Abs::Root, nodes);
    w.paths.into_iter().collect()
}

struct Walker {
    vars: Vec<(String, Abs)>,
    paths: BTreeSet<Vec<String>>,
}

fn extend(base: Abs, idents: &[String]) -> Abs {
    match base {
        Abs::Root => match idents.split_first() {
            Some((first, rest)) if first == "Values" => Abs::Values(rest.to_vec()),
            Some(_) => Abs::Unknown,
            None => Abs::Root,
        },
        Abs::Values(mut p) => {
            p.extend(idents.iter().cloned());
            Abs::Values(p)
        }
        Abs::Unknown => Abs::Unknown,
    }
}

impl Walker {
    fn record(&mut self, a: &Abs) {
        if let Abs::Values(p) = a {
            self.paths.insert(p.clone());
        }
    }

    fn var(&self, name: &str) -> Abs {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map_or(Abs::Unknown, |(_, a)| a.clone())
    }

    fn list(&mut self, dot: &Abs, nodes: &[Node]) {
        for node in nodes {
            match node {
                Node::Text(_) => {}
                Node::Action { pipe, .. } => {
                    self.pipeline(dot, pipe);
                }
                Node::If(c) => self.control(dot, c, Kind::If),
                Node::With(c) => self.control(dot, c, Kind::With),
                Node::Range(c) => self.control(dot, c, Kind::Range),
                Node::Template { pipe, .. } => {
                    if let Some(p) = pipe {
                        self.pipeline(dot, p);
                    }
                }
            }
        }
    }

    fn control(&mut self, dot: &Abs, c: &Control, kind: Kind) {
        let mark = self.vars.len();
        let v = self.pipeline(dot, &c.pipe);
        if let Some(v) = &v {
            self.record(v);
        }
        let body_dot = match kind {
            Kind::If => dot.clone(),
            Kind::With => v.unwrap_or(Abs::Unknown),
            Kind::Range => {
                let n = c.pipe.decl.len().min(self.vars.len() - mark);
                let len = self.vars.len();
                for slot in &mut self.vars[len - n..] {
                    slot.1 = Abs::Unknown;
                }
                Abs::Unknown
            }
        };
        let body_mark = self.vars.len();
        self.list(&body_dot, &c.list);
        self.vars.truncate(body_mark);
        if let Some(e) = &c.else_list {
            self.list(dot, e);
        }
        self.vars.truncate(mark);
    }

    /// The pipeline's value, recording what its commands read.
    fn pipeline(&mut self, dot: &Abs, pipe: &Pipeline) -> Option<Abs> {
        let mut value: Option<Abs> = None;
        for cmd in &pipe.cmds {
            value = Some(self.command(dot, cmd, value));
        }
        let v = value.clone().unwrap_or(Abs::Unknown);
        for name in &pipe.decl {
            if pipe.is_assign {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = v.clone();
                }
            } else {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        value
    }

    fn command(&mut self, dot: &Abs, cmd: &Command, fin: Option<Abs>) -> Abs {
        let Some((first, rest)) = cmd.args.split_first() else {
            return Abs::Unknown;
        };
        match first {
            Arg::Ident(name) if name == "index" => {
                let (receiver, keys) = match rest.split_first() {
                    Some((r, keys)) => (self.resolve(dot, r), keys),
                    None => (fin.clone().unwrap_or(Abs::Unknown), &[][..]),
                };
                let Abs::Values(mut path) = receiver else {
                    for k in keys {
                        self.arg(dot, k);
                    }
                    return Abs::Unknown;
                };
                let mut literal = true;
                for k in keys {
                    match k {
                        Arg::Str(s) if literal => path.push(s.clone()),
                        other => {
                            literal = false;
                            self.arg(dot, other);
                        }
                    }
                }
                // A piped value is the last key: not a literal.
                if !rest.is_empty() && fin.is_some() {
                    literal = false;
                }
                self.paths.insert(path.clone());
                if literal {
                    Abs::Values(path)
                } else {
                    Abs::Unknown
                }
            }
            Arg::Ident(_) => {
                for a in rest {
                    self.arg(dot, a);
                }
                Abs::Unknown
            }
            other => {
                let v = self.resolve(dot, other);
                self.record(&v);
                v
            }
        }
    }

    /// Evaluates an argument, recording a values read.
    fn arg(&mut self, dot: &Abs, a: &Arg) -> Abs {
        let v = self.resolve(dot, a);
        self.record(&v);
        v
    }

    /// What an operand denotes, recording reads nested inside it (not its own value).
    fn resolve(&mut self, dot: &Abs, a: &Arg) -> Abs {
        match a {
            Arg::Dot => dot.clone(),
            Arg::Field(idents) => extend(dot.clone(), idents),
            Arg::Variable(name, idents) => extend(self.var(name), idents),
            Arg::Pipe(p) => self.pipeline(dot, p).unwrap_or(Abs::Unknown),
            Arg::Chain(base, idents) => {
                let b = self.resolve(dot, base);
                extend(b, idents)
            }
            Arg::Ident(_) | Arg::Nil | Arg::Bool(_) | Arg::Number(_) | Arg::Str(_) => Abs::Unknown,
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    If,
    With,
    Range,
}
