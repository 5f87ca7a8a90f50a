//! `govdeploy secrets …`: create, edit, set, rotate, check and import an environment's
//! encrypted secrets file (SOPS format, age recipients), and the secrets gate that `plan`
//! and `render` pass before anything else happens.
//!
//! Values never reach standard output or standard error, with or without `--debug`: only
//! Secret and key names, components, files and recipients are printed.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use govdeploy_render::{RenderInput, SecretValues};
use govdeploy_secrets::file::{self, SecretsFile};
use govdeploy_secrets::schema::{self, Need, SecretRead, Source};
use govdeploy_secrets::{KeySources, Scalar, SecretsError, TreeNode, TreeValue, sops};
use govdeploy_yaml::{Diagnostic, Diagnostics};
use zeroize::Zeroizing;

use crate::commands::report;
use crate::{exit, pipeline};

#[derive(Debug, Args)]
pub struct SecretsArgs {
    /// Print what is being done (files, key sources, recipients, schema); never values.
    #[arg(long, global = true)]
    pub debug: bool,
    #[command(subcommand)]
    pub command: SecretsCommand,
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Create the environment's encrypted secrets file: random values for what govdeploy can
    /// generate, placeholders for what only the operator knows. Never overwrites a file.
    Init {
        env: PathBuf,
        /// age recipient (repeatable); default: SOPS_AGE_RECIPIENTS, then .sops.yaml.
        #[arg(long = "age", value_name = "AGE1…")]
        age: Vec<String>,
    },
    /// Decrypt to a private temporary file, open $SOPS_EDITOR or $EDITOR, re-encrypt.
    Edit { env: PathBuf },
    /// Set SECRET/KEY to a value read from standard input (or a prompt on a terminal).
    Set {
        env: PathBuf,
        /// `secret/key`, e.g. `egov-notification-sms/password`.
        key: String,
    },
    /// Give SECRET/KEY a new random value and list the components that restart because of it.
    Rotate { env: PathBuf, key: String },
    /// Check the secrets file against what the environment's components need.
    Check { env: PathBuf },
    /// Convert a DIGIT-DevOps secrets file (`cluster-configs.secrets` or `secrets`) into an
    /// encrypted govdeploy secrets file.
    ImportDigit {
        file: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        /// Match key names against what this environment's components read.
        #[arg(long)]
        env: Option<PathBuf>,
        /// age recipient (repeatable); default: SOPS_AGE_RECIPIENTS, then .sops.yaml.
        #[arg(long = "age", value_name = "AGE1…")]
        age: Vec<String>,
    },
}

/// Stable diagnostic codes of this command.
mod codes {
    pub const NO_FILE: &str = "E-SECRETS-NO-FILE";
    pub const TAMPERED: &str = "E-SECRETS-TAMPERED";
    pub const KEY: &str = "E-SECRETS-KEY";
    pub const FORMAT: &str = "E-SECRETS-FORMAT";
    pub const UNKNOWN_KEY: &str = "E-SECRETS-UNKNOWN-KEY";
    pub const NOT_GENERATED: &str = "E-SECRETS-NOT-GENERATABLE";
    pub const EDIT: &str = "E-SECRETS-EDIT";
    pub const RECIPIENTS: &str = "E-SECRETS-RECIPIENTS";
    pub const VALUE: &str = "E-SECRETS-VALUE";
}

/// A library error as a diagnostic (the errors carry no values).
fn diagnostic(err: &SecretsError) -> Diagnostic {
    let (code, hint) = match err {
        SecretsError::MacMismatch { .. }
        | SecretsError::MacUnreadable { .. }
        | SecretsError::Value { .. } => (
            codes::TAMPERED,
            "nothing was rendered or changed; restore the file from version control (`git checkout -- FILE`) and make changes with `govdeploy secrets edit`",
        ),
        SecretsError::WrongKey { .. } | SecretsError::KeyFile { .. } => (
            codes::KEY,
            "point SOPS_AGE_KEY_FILE at the age key of one of the file's recipients (or set SOPS_AGE_KEY)",
        ),
        SecretsError::Recipients(_) => (
            codes::RECIPIENTS,
            "pass --age age1… or set SOPS_AGE_RECIPIENTS, or add creation_rules with `age:` to .sops.yaml",
        ),
        SecretsError::Io { .. } => (
            codes::NO_FILE,
            "create it with `govdeploy secrets init ENV`, or fix spec.secrets.file",
        ),
        _ => (codes::FORMAT, "fix the file as the message says"),
    };
    Diagnostic::error(code, err.to_string()).hint(hint)
}

fn fail(d: Diagnostic) -> Diagnostics {
    Diagnostics(vec![d])
}

struct Ctx {
    debug: bool,
}

impl Ctx {
    fn debug(&self, message: impl AsRef<str>) {
        if self.debug {
            eprintln!("debug: {}", message.as_ref());
        }
    }
}

pub fn run(args: SecretsArgs) -> anyhow::Result<i32> {
    let ctx = Ctx { debug: args.debug };
    let result = match args.command {
        SecretsCommand::Init { env, age } => init(&ctx, &env, &age),
        SecretsCommand::Edit { env } => edit(&ctx, &env),
        SecretsCommand::Set { env, key } => set(&ctx, &env, &key),
        SecretsCommand::Rotate { env, key } => rotate(&ctx, &env, &key),
        SecretsCommand::Check { env } => check_command(&ctx, &env),
        SecretsCommand::ImportDigit {
            file,
            output,
            env,
            age,
        } => import_digit(&ctx, &file, &output, env.as_deref(), &age),
    };
    match result {
        Ok(code) => Ok(code),
        Err(Failure::Invalid(diagnostics)) => {
            report(&diagnostics);
            Ok(exit::INVALID_INPUT)
        }
        Err(Failure::Other(e)) => Err(e),
    }
}

enum Failure {
    Invalid(Diagnostics),
    Other(anyhow::Error),
}

impl From<Diagnostics> for Failure {
    fn from(d: Diagnostics) -> Self {
        Failure::Invalid(d)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Other(e.into())
    }
}

type Outcome = Result<i32, Failure>;

/// The environment's plan, the path of its secrets file and its schema.
struct Environment {
    planned: pipeline::Planned,
    secrets_path: Option<PathBuf>,
    needs: Vec<Need>,
    name: String,
}

fn environment(ctx: &Ctx, env: &Path) -> Result<Environment, Failure> {
    let planned = pipeline::plan(env)?;
    let needs = needs_of(&planned)?;
    let secrets_path = planned.loaded.secrets_file();
    ctx.debug(format!(
        "environment {}: secrets file {}; {} secret key(s) needed",
        env.display(),
        secrets_path
            .as_ref()
            .map_or("(none)".into(), |p| p.display().to_string()),
        needs.len()
    ));
    for n in &needs {
        ctx.debug(format!(
            "  {} ({}) read by {}",
            n.id(),
            source_label(n.source),
            n.used_by.join(", ")
        ));
    }
    Ok(Environment {
        name: env.display().to_string(),
        planned,
        secrets_path,
        needs,
    })
}

fn source_label(source: Source) -> &'static str {
    match source {
        Source::Username => "generated account name",
        Source::Random(_) => "generated",
        Source::Operator => "operator-provided",
    }
}

/// Renders the environment (without secrets, or with the given values).
fn render_with(
    planned: &pipeline::Planned,
    values: Option<&SecretValues>,
) -> Result<govdeploy_render::Rendered, Diagnostics> {
    govdeploy_render::render(RenderInput {
        plan: &planned.plan,
        catalog: &planned.catalog,
        environment: &planned.loaded.env,
        secrets: values,
        plaintext_secrets: false,
    })
}

/// The schema from the renderer's record of which Secret keys each component reads.
fn needs_of(planned: &pipeline::Planned) -> Result<Vec<Need>, Diagnostics> {
    let rendered = render_with(planned, None)?;
    let stores: Vec<&String> = planned
        .plan
        .components
        .iter()
        .filter(|(_, c)| c.tier == govdeploy_catalog::Tier::Backbone && c.external.is_none())
        .map(|(n, _)| n)
        .collect();
    let reads: Vec<SecretRead> = rendered
        .secrets
        .iter()
        .map(|u| SecretRead {
            namespace: u.namespace.clone(),
            name: u.name.clone(),
            keys: u.keys.clone(),
            used_by: u.used_by.clone(),
            store_managed: u.used_by.iter().any(|c| stores.contains(&c))
                || stores.iter().any(|s| {
                    u.name
                        .strip_prefix(s.as_str())
                        .is_some_and(|r| r.starts_with('-'))
                }),
        })
        .collect();
    Ok(schema::schema(&reads))
}

fn secrets_path(env: &Environment) -> Result<PathBuf, Failure> {
    env.secrets_path.clone().ok_or_else(|| {
        Failure::Invalid(fail(
            Diagnostic::error(
                codes::NO_FILE,
                format!("{} names no secrets file", env.name),
            )
            .hint("add `secrets: {file: secrets.enc.yaml}` under spec (the path is relative to the environment file)"),
        ))
    })
}

fn load(ctx: &Ctx, path: &Path) -> Result<SecretsFile, Failure> {
    let keys = KeySources::from_env();
    ctx.debug(format!(
        "age identities from: {}",
        [
            keys.key.as_ref().map(|_| "SOPS_AGE_KEY".to_string()),
            keys.key_file
                .as_ref()
                .map(|p| format!("SOPS_AGE_KEY_FILE={}", p.display())),
            keys.default_file
                .as_ref()
                .map(|p| format!("{} (if present)", p.display())),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
    ));
    let file =
        SecretsFile::load(path, &keys).map_err(|e| Failure::Invalid(fail(diagnostic(&e))))?;
    ctx.debug(format!("loaded {file:?}"));
    Ok(file)
}

/// Flat values for the renderer.
fn secret_values(values: &file::Values) -> SecretValues {
    SecretValues(
        values
            .iter()
            .map(|(name, keys)| {
                (
                    name.clone(),
                    keys.iter()
                        .map(|(k, e)| (k.clone(), e.value.to_string()))
                        .collect(),
                )
            })
            .collect(),
    )
}

/// What `render` gets from the secrets file: values, and whether they were plaintext.
pub struct RenderSecrets {
    pub values: SecretValues,
    pub encrypted: bool,
}

/// The secrets gate of `plan` and `render`: with a secrets file, it is read (decrypted in
/// memory, MAC verified) and checked against the schema; missing keys, placeholders and
/// unreadable files are errors before anything is rendered. Without one, nothing happens
/// (render warns that the Secrets must exist in the cluster).
pub fn gate(planned: &pipeline::Planned, env: &Path) -> Result<Option<RenderSecrets>, Diagnostics> {
    let Some(path) = planned.loaded.secrets_file() else {
        return Ok(None);
    };
    let keys = KeySources::from_env();
    let file = SecretsFile::load(&path, &keys).map_err(|e| fail(diagnostic(&e)))?;
    let values = file.values().map_err(Diagnostics)?;
    let encrypted = file.is_encrypted();
    let production = matches!(
        planned.loaded.env.spec.profile,
        govdeploy_spec::Profile::Uat | govdeploy_spec::Profile::Prod
    );
    // A plaintext file in uat/prod is refused by the renderer whatever it holds.
    if encrypted || !production {
        let needs = needs_of(planned)?;
        let env_name = env.display().to_string();
        let problems = govdeploy_secrets::check::check(&path, &values, &needs, &env_name);
        if !problems.is_empty() {
            return Err(Diagnostics(problems));
        }
    }
    Ok(Some(RenderSecrets {
        values: secret_values(&values),
        encrypted,
    }))
}

/// `plan`'s use of the gate: an exit code when the secrets are not ready.
pub fn plan_gate(env: &Path) -> Option<i32> {
    let planned = pipeline::plan(env).ok()?;
    match gate(&planned, env) {
        Ok(_) => None,
        Err(diagnostics) => {
            report(&diagnostics);
            Some(exit::INVALID_INPUT)
        }
    }
}

fn recipients(target: &Path, flags: &[String]) -> Result<Vec<String>, Failure> {
    if !flags.is_empty() {
        return Ok(flags.to_vec());
    }
    let env_value = std::env::var("SOPS_AGE_RECIPIENTS").ok();
    govdeploy_secrets::keys::recipients_for(target, env_value.as_deref())
        .map(|(r, _)| r)
        .map_err(|e| Failure::Invalid(fail(diagnostic(&e))))
}

fn init(ctx: &Ctx, env: &Path, age: &[String]) -> Outcome {
    let environment = environment(ctx, env)?;
    let path = secrets_path(&environment)?;
    if path.exists() {
        return Err(Failure::Invalid(fail(diagnostic(&SecretsError::Exists {
            path,
        }))));
    }
    let recipients = recipients(&path, age)?;
    ctx.debug(format!("recipients: {}", recipients.join(", ")));
    let mut tree = TreeNode::new(TreeValue::Map(Vec::new()));
    let mut generated = 0;
    let mut placeholders = Vec::new();
    for need in &environment.needs {
        let value = schema::initial_value(need);
        match need.source {
            Source::Operator => placeholders.push(need),
            _ => generated += 1,
        }
        file::set_value(
            &mut tree,
            &need.secret,
            &need.key,
            Scalar::str(value.as_str()),
        );
    }
    let text = Zeroizing::new(
        sops::encrypt_new(&tree, &recipients, &sops::now())
            .map_err(|e| Failure::Invalid(fail(diagnostic(&e))))?,
    );
    file::write_private(&path, text.as_bytes(), true)
        .map_err(|e| Failure::Invalid(fail(diagnostic(&e))))?;
    eprintln!(
        "created {} (SOPS, age, {} recipient(s), mode 0600): {} key(s), {generated} generated, {} to fill in",
        path.display(),
        recipients.len(),
        environment.needs.len(),
        placeholders.len()
    );
    for need in &placeholders {
        eprintln!(
            "  to fill in: {} (read by {})",
            need.id(),
            need.used_by.join(", ")
        );
    }
    if !placeholders.is_empty() {
        eprintln!(
            "set them with `govdeploy secrets set {} SECRET/KEY` (value on standard input) or `govdeploy secrets edit {}`; plan and render refuse placeholders",
            env.display(),
            env.display()
        );
    }
    Ok(exit::OK)
}

fn parse_key(id: &str) -> Result<(String, String), Failure> {
    match id.split_once('/') {
        Some((s, k)) if !s.is_empty() && !k.is_empty() => Ok((s.to_string(), k.to_string())),
        _ => Err(Failure::Invalid(fail(
            Diagnostic::error(
                codes::UNKNOWN_KEY,
                format!("`{id}` is not of the form SECRET/KEY"),
            )
            .hint("name the Secret and its key, e.g. `egov-notification-sms/password`"),
        ))),
    }
}

fn find_need<'a>(environment: &'a Environment, id: &str) -> Result<&'a Need, Failure> {
    environment
        .needs
        .iter()
        .find(|n| n.id() == id)
        .ok_or_else(|| {
            let known: Vec<String> = environment.needs.iter().map(Need::id).collect();
            let mut d = Diagnostic::error(
                codes::UNKNOWN_KEY,
                format!("no component of {} reads `{id}`", environment.name),
            );
            d = match govdeploy_yaml::did_you_mean(id, known.iter().map(String::as_str)) {
                Some(s) => d.hint(format!("did you mean `{s}`?")),
                None => d.hint(format!("known keys: {}", known.join(", "))),
            };
            Failure::Invalid(fail(d))
        })
}

/// Writes the changed tree back the way the file is stored, atomically.
fn save(file: &SecretsFile, tree: &TreeNode) -> Result<(), Failure> {
    let text = Zeroizing::new(
        file.render(tree)
            .map_err(|e| Failure::Invalid(fail(diagnostic(&e))))?,
    );
    file::write_private(&file.path, text.as_bytes(), false)
        .map_err(|e| Failure::Invalid(fail(diagnostic(&e))))
}

/// Reads a value from standard input (all of it, less one trailing newline), or from a
/// prompt without echo when standard input is a terminal.
fn read_value(id: &str) -> Result<Zeroizing<String>, Failure> {
    let mut value = Zeroizing::new(String::new());
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("value for {id} (not shown): ");
        std::io::stderr().flush()?;
        let echo_off = std::process::Command::new("stty")
            .arg("-echo")
            .stdin(std::fs::File::open("/dev/tty")?)
            .status()
            .is_ok_and(|s| s.success());
        let read = stdin.read_line(&mut value);
        if echo_off {
            let _ = std::process::Command::new("stty")
                .arg("echo")
                .stdin(std::fs::File::open("/dev/tty")?)
                .status();
        }
        eprintln!();
        read?;
    } else {
        stdin.lock().read_to_string(&mut value)?;
    }
    let trimmed = Zeroizing::new(
        value
            .strip_suffix("\r\n")
            .or_else(|| value.strip_suffix('\n'))
            .unwrap_or(&value)
            .to_string(),
    );
    if trimmed.is_empty() {
        return Err(Failure::Invalid(fail(
            Diagnostic::error(codes::VALUE, format!("no value given for {id}")).hint(format!(
                "pipe it in: `printf %s \"$VALUE\" | govdeploy secrets set ENV {id}`"
            )),
        )));
    }
    if schema::is_placeholder(&trimmed) {
        return Err(Failure::Invalid(fail(Diagnostic::error(
            codes::VALUE,
            format!("the value given for {id} is a placeholder (text in angle brackets)"),
        ))));
    }
    Ok(trimmed)
}

fn set(ctx: &Ctx, env: &Path, id: &str) -> Outcome {
    let (secret, key) = parse_key(id)?;
    let environment = environment(ctx, env)?;
    let path = secrets_path(&environment)?;
    let file = load(ctx, &path)?;
    if environment.needs.iter().all(|n| n.id() != id) {
        eprintln!(
            "warning: no component of {} reads {id}; it is stored anyway",
            environment.name
        );
    }
    let value = read_value(id)?;
    let mut tree = file.tree.clone();
    file::set_value(&mut tree, &secret, &key, Scalar::str(value.as_str()));
    save(&file, &tree)?;
    eprintln!("set {id} in {}", path.display());
    Ok(exit::OK)
}

/// Components whose rendered objects (Secrets aside) differ: their pods roll on apply.
fn restarting(
    before: &govdeploy_render::Rendered,
    after: &govdeploy_render::Rendered,
) -> Vec<String> {
    let view = |r: &govdeploy_render::Rendered| -> Vec<(String, Vec<serde_json::Value>)> {
        r.files
            .iter()
            .filter_map(|f| {
                Some((
                    f.component.clone()?,
                    f.objects
                        .iter()
                        .filter(|o| !o.is_secret())
                        .map(|o| o.body.clone())
                        .collect(),
                ))
            })
            .collect()
    };
    let (a, b) = (view(before), view(after));
    let mut out: BTreeSet<String> = BTreeSet::new();
    for (name, objects) in &b {
        if a.iter().find(|(n, _)| n == name).map(|(_, o)| o) != Some(objects) {
            out.insert(name.clone());
        }
    }
    out.into_iter().collect()
}

fn rotate(ctx: &Ctx, env: &Path, id: &str) -> Outcome {
    let (secret, key) = parse_key(id)?;
    let environment = environment(ctx, env)?;
    let need = find_need(&environment, id)?;
    let Source::Random(len) = need.source else {
        return Err(Failure::Invalid(fail(
            Diagnostic::error(
                codes::NOT_GENERATED,
                format!(
                    "{id} is {}: govdeploy does not make it up",
                    source_label(need.source)
                ),
            )
            .hint(format!(
                "set a new value from its provider with `govdeploy secrets set {} {id}`",
                env.display()
            )),
        )));
    };
    let path = secrets_path(&environment)?;
    let file = load(ctx, &path)?;
    let before_values = file.values().map_err(Diagnostics)?;
    let mut tree = file.tree.clone();
    let value = schema::random_text(len);
    file::set_value(&mut tree, &secret, &key, Scalar::str(value.as_str()));
    let after_file = SecretsFile {
        path: path.clone(),
        storage: govdeploy_secrets::Storage::Plaintext,
        tree: tree.clone(),
    };
    let after_values = after_file.values().map_err(Diagnostics)?;
    let before = render_with(&environment.planned, Some(&secret_values(&before_values)));
    let after = render_with(&environment.planned, Some(&secret_values(&after_values)));
    save(&file, &tree)?;
    eprintln!(
        "rotated {id} in {} (new random value, {len} characters)",
        path.display()
    );
    match (before, after) {
        (Ok(before), Ok(after)) => {
            let restarts = restarting(&before, &after);
            if restarts.is_empty() {
                println!("no component restarts");
            } else {
                println!("restarts on the next apply ({}):", restarts.len());
                for c in restarts {
                    println!("  {c}");
                }
            }
        }
        _ => eprintln!(
            "note: the environment does not render with its secrets yet (run `govdeploy secrets check {}`); restarts not computed",
            env.display()
        ),
    }
    if need.secret == "egov-enc-service" {
        eprintln!(
            "warning: data already encrypted with the old {id} cannot be decrypted with the new one; rotate encryption keys only with a re-encryption plan"
        );
    }
    if need.used_by.iter().any(|c| {
        environment
            .planned
            .plan
            .components
            .get(c)
            .is_some_and(|p| p.tier == govdeploy_catalog::Tier::Backbone)
    }) {
        eprintln!(
            "note: stores read their credentials when their data volume is first initialised; change {id} in the running store too (for Postgres: ALTER ROLE … PASSWORD)"
        );
    }
    Ok(exit::OK)
}

fn check_command(ctx: &Ctx, env: &Path) -> Outcome {
    let environment = environment(ctx, env)?;
    let path = secrets_path(&environment)?;
    let _ = load(ctx, &path)?;
    gate(&environment.planned, env)?;
    eprintln!(
        "{}: all {} secret key(s) the environment needs are set",
        path.display(),
        environment.needs.len()
    );
    Ok(exit::OK)
}

/// The editor command: $SOPS_EDITOR, $EDITOR, else vi (as sops does), run through the
/// shell so that `EDITOR="code --wait"` works.
fn run_editor(path: &Path) -> Result<(), String> {
    let editor = ["SOPS_EDITOR", "EDITOR"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|e| !e.trim().is_empty()))
        .unwrap_or_else(|| "vi".into());
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(path)
        .status()
        .map_err(|e| format!("cannot start the editor `{editor}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the editor `{editor}` exited with {status}"))
    }
}

fn edit(ctx: &Ctx, env: &Path) -> Outcome {
    let environment = environment(ctx, env)?;
    let path = secrets_path(&environment)?;
    let file = load(ctx, &path)?;
    let original = Zeroizing::new(govdeploy_secrets::emit::document(&file.tree));
    // A private directory (0700) holding a private file (0600); both are removed when
    // `dir` is dropped, whichever way this function returns.
    let mut builder = tempfile::Builder::new();
    builder.prefix("govdeploy-secrets-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    let dir = builder
        .tempdir()
        .context("creating a private temporary directory")?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "secrets.yaml".into());
    let temp = dir.path().join(name);
    write_private_new(&temp, original.as_bytes())?;
    ctx.debug(format!(
        "editing a private copy in {}",
        dir.path().display()
    ));
    let unchanged = |why: String| {
        Failure::Invalid(fail(
            Diagnostic::error(
                codes::EDIT,
                format!("{why}; {} was not changed", path.display()),
            )
            .hint("run `govdeploy secrets edit` again (the edited copy was deleted)"),
        ))
    };
    run_editor(&temp).map_err(unchanged)?;
    let edited = Zeroizing::new(std::fs::read_to_string(&temp).context("reading the edited copy")?);
    drop(dir);
    let doc = govdeploy_yaml::parse_single(&edited).map_err(|e| {
        let pos = e.pos().unwrap_or_default();
        unchanged(format!(
            "the edited text is not valid YAML at line {}, column {} (content not shown)",
            pos.line, pos.col
        ))
    })?;
    if sops::is_sops(&doc) {
        return Err(unchanged(
            "the edited text has a `sops` block (it belongs to the encrypted file only)".into(),
        ));
    }
    let tree = TreeNode::from_yaml(&doc);
    let check = SecretsFile {
        path: path.clone(),
        storage: govdeploy_secrets::Storage::Plaintext,
        tree: tree.clone(),
    };
    if let Err(problems) = check.values() {
        let mut all = vec![Diagnostic::error(
            codes::EDIT,
            format!(
                "the edited text does not have the shape of a secrets file; {} was not changed (line numbers are of the edited copy)",
                path.display()
            ),
        )];
        all.extend(problems.into_iter().map(|mut d| {
            d.location = None;
            d
        }));
        return Err(Failure::Invalid(Diagnostics(all)));
    }
    let before = file.values().map_err(Diagnostics)?;
    let after = check.values().map_err(Diagnostics)?;
    let changed = changed_keys(&before, &after);
    if changed.is_empty() && govdeploy_secrets::emit::document(&tree) == *original {
        eprintln!("no changes; {} left as it was", path.display());
        return Ok(exit::OK);
    }
    save(&file, &tree)?;
    eprintln!(
        "updated {}: {}",
        path.display(),
        if changed.is_empty() {
            "layout only".to_string()
        } else {
            format!("changed {}", changed.join(", "))
        }
    );
    Ok(exit::OK)
}

fn write_private_new(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}

/// `secret/key` names whose value was added, removed or changed.
fn changed_keys(before: &file::Values, after: &file::Values) -> Vec<String> {
    let mut ids = BTreeSet::new();
    for (a, b) in [(before, after), (after, before)] {
        for (secret, keys) in a {
            for (key, entry) in keys {
                let other = b.get(secret).and_then(|k| k.get(key));
                if other.is_none_or(|o| o.value != entry.value) {
                    ids.insert(format!("{secret}/{key}"));
                }
            }
        }
    }
    ids.into_iter().collect()
}

fn import_digit(
    ctx: &Ctx,
    input: &Path,
    output: &Path,
    env: Option<&Path>,
    age: &[String],
) -> Outcome {
    let environment = match env {
        Some(e) => Some(environment(ctx, e)?),
        None => None,
    };
    if output.exists() {
        return Err(Failure::Invalid(fail(diagnostic(&SecretsError::Exists {
            path: output.to_path_buf(),
        }))));
    }
    let text = Zeroizing::new(
        std::fs::read_to_string(input).with_context(|| format!("reading {}", input.display()))?,
    );
    let imported = govdeploy_secrets::digit::import(
        input,
        &text,
        environment.as_ref().map(|e| e.needs.as_slice()),
    )
    .map_err(|e| Failure::Invalid(fail(diagnostic(&e))))?;
    let recipients = recipients(output, age)?;
    let sealed = Zeroizing::new(
        sops::encrypt_new(&imported.tree, &recipients, &sops::now())
            .map_err(|e| Failure::Invalid(fail(diagnostic(&e))))?,
    );
    file::write_private(output, sealed.as_bytes(), true)
        .map_err(|e| Failure::Invalid(fail(diagnostic(&e))))?;
    let keys: usize = imported
        .tree
        .entries()
        .iter()
        .map(|(_, v)| v.entries().len())
        .sum();
    eprintln!(
        "imported {} ({}): {} secret(s), {keys} key(s) -> {} (SOPS, age, {} recipient(s), mode 0600)",
        input.display(),
        imported.flavour,
        imported.tree.entries().len(),
        output.display(),
        recipients.len()
    );
    for note in &imported.notes {
        eprintln!("  {note}");
    }
    if let Some(environment) = &environment {
        let file = SecretsFile {
            path: output.to_path_buf(),
            storage: govdeploy_secrets::Storage::Plaintext,
            tree: imported.tree.clone(),
        };
        if let Ok(values) = file.values() {
            let problems = govdeploy_secrets::check::check(
                input,
                &values,
                &environment.needs,
                &environment.name,
            );
            if !problems.is_empty() {
                eprintln!(
                    "the imported file is not complete for {} yet ({} problem(s); positions are in {}):",
                    environment.name,
                    problems.len(),
                    input.display()
                );
                report(&Diagnostics(problems));
            }
        }
    }
    eprintln!(
        "delete the plaintext {} once the import is checked; it should not stay on disk",
        input.display()
    );
    Ok(exit::OK)
}
