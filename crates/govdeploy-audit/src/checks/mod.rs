//! The rules' logic, one module per concern. Each check reads objects through the [`Index`] and
//! pushes [`Hit`]s; severity, profile and waivers are applied afterwards, in one place.

mod availability;
mod namespace;
mod network;
mod pod;
mod rbac;
mod wiring;

use govdeploy_yaml::Node;

use crate::config::Config;
use crate::index::Index;
use crate::rules::RuleDef;

/// A rule that fired on an object, before severity and waivers.
#[derive(Debug, Clone)]
pub struct Hit {
    pub rule: &'static RuleDef,
    pub object: usize,
    pub line: usize,
    pub message: String,
}

pub struct Ctx<'a> {
    pub index: &'a Index<'a>,
    pub config: &'a Config,
    pub hits: Vec<Hit>,
}

impl Ctx<'_> {
    /// Records a hit on an object, at the line of `node` when given (else the object's line).
    pub fn hit(
        &mut self,
        rule: &'static RuleDef,
        object: usize,
        node: Option<&Node>,
        message: impl Into<String>,
    ) {
        let obj = &self.index.objects[object];
        let line = node.map_or_else(|| obj.line(), |n| obj.line_of(n));
        self.hits.push(Hit {
            rule,
            object,
            line,
            message: message.into(),
        });
    }
}

pub fn run(index: &Index<'_>, config: &Config) -> Vec<Hit> {
    let mut ctx = Ctx {
        index,
        config,
        hits: Vec::new(),
    };
    pod::check(&mut ctx);
    availability::check(&mut ctx);
    namespace::check(&mut ctx);
    network::check(&mut ctx);
    rbac::check(&mut ctx);
    wiring::check(&mut ctx);
    ctx.hits
}
