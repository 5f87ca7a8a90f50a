//! Checks of `spec.configSources`: where runtime configuration (MDMS data, service configs)
//! comes from.
//!
//! DIGIT clones a branch over SSH when a pod starts, trusting whatever host key it is shown:
//! a GitHub host-key rotation once took core services down, and two pods started a day apart
//! can read different configuration. So a git source names a pinned revision (a branch is a
//! warning), an SSH repository needs its host key pinned in `knownHosts`, and an image source
//! must be pinned by tag or digest (never `latest`).
//!
//! The helpers ([`classify_revision`], [`parse_repo`], [`parse_known_hosts_line`],
//! [`check_image_reference`]) are pure and public, for the renderer and for tests.

use govdeploy_yaml::{Diagnostic, Location, Node, Value};

use crate::checks::{is_dns_name, placeholders};
use crate::codes;
use crate::model::ConfigSourceKind;
use crate::sources::SourceMap;

// ------------------------------------------------------------------------------ revisions

/// What a git revision names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionKind {
    /// A full commit SHA (40 hex digits, or 64 in a SHA-256 repository): immutable.
    Commit,
    /// Something that looks like a release tag (`v2.9.0`, `DIGIT-2.9-LTS`, `refs/tags/x`).
    Tag,
    /// A branch (`master`, `refs/heads/x`, or a name without any digit): it moves.
    Branch,
}

/// Branch names common enough to recognise even though they could, in theory, be tags.
const BRANCH_NAMES: &[&str] = &[
    "master",
    "main",
    "develop",
    "development",
    "dev",
    "trunk",
    "head",
    "qa",
    "uat",
    "staging",
];

/// Classifies a revision as a commit, a tag-looking ref or a branch.
pub fn classify_revision(revision: &str) -> RevisionKind {
    let r = revision.trim();
    let hex = !r.is_empty() && r.bytes().all(|b| b.is_ascii_hexdigit());
    if hex && (r.len() == 40 || r.len() == 64) {
        return RevisionKind::Commit;
    }
    if r.starts_with("refs/heads/") {
        return RevisionKind::Branch;
    }
    if r.starts_with("refs/tags/") {
        return RevisionKind::Tag;
    }
    let lower = r.to_ascii_lowercase();
    if BRANCH_NAMES.contains(&lower.as_str()) || !r.bytes().any(|b| b.is_ascii_digit()) {
        return RevisionKind::Branch;
    }
    RevisionKind::Tag
}

// ------------------------------------------------------------------------------ repositories

/// How a repository is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoTransport {
    Https,
    Http,
    /// The unauthenticated `git://` protocol.
    Git,
    /// SSH, as `ssh://[user@]host[:port]/path` or `[user@]host:path`.
    Ssh {
        host: String,
        port: Option<u16>,
    },
}

impl RepoTransport {
    pub fn is_ssh(&self) -> bool {
        matches!(self, RepoTransport::Ssh { .. })
    }
}

/// How git would reach `repo`, or `None` when it is not a remote repository URL.
pub fn parse_repo(repo: &str) -> Option<RepoTransport> {
    let repo = repo.trim();
    if repo.is_empty() || repo.chars().any(char::is_whitespace) {
        return None;
    }
    if let Some((scheme, rest)) = repo.split_once("://") {
        let (authority, path) = rest.split_once('/')?;
        if path.is_empty() {
            return None;
        }
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = split_host_port(host_port)?;
        return match scheme.to_ascii_lowercase().as_str() {
            "https" => Some(RepoTransport::Https),
            "http" => Some(RepoTransport::Http),
            "git" => Some(RepoTransport::Git),
            "ssh" | "git+ssh" | "ssh+git" => Some(RepoTransport::Ssh { host, port }),
            _ => None,
        };
    }
    // The scp-like syntax: `[user@]host:path`, where no `/` comes before the first `:`.
    let (authority, path) = repo.split_once(':')?;
    if authority.contains('/') || path.is_empty() {
        return None;
    }
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    valid_host(host).then(|| RepoTransport::Ssh {
        host: host.to_ascii_lowercase(),
        port: None,
    })
}

/// `host` or `host:port` (the host may be a bracketed IPv6 address).
fn split_host_port(text: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    if !valid_host(host) && host.parse::<std::net::Ipv6Addr>().is_err() {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0)?),
        None => None,
    };
    Some((host.to_ascii_lowercase(), port))
}

fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

// ------------------------------------------------------------------------------ known_hosts

/// Key types OpenSSH writes in `known_hosts`.
const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
];

/// One `known_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownHost {
    /// `@cert-authority` or `@revoked`, if the line starts with one.
    pub marker: Option<String>,
    /// The host patterns (`github.com`, `[git.example.org]:2222`, `*.example.org`, `!x`, or a
    /// hashed `|1|salt|hash`).
    pub hosts: Vec<String>,
    pub key_type: String,
    /// The base64 key, as written.
    pub key: String,
}

/// Why a `known_hosts` line cannot be used: a message and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownHostsProblem {
    pub message: String,
    pub hint: String,
}

const KNOWN_HOSTS_SHAPE: &str = "each line is `host keytype base64-key`, e.g. `github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA...` \
     (the output of `ssh-keyscan -t ed25519 github.com`)";

/// Parses one non-blank, non-comment `known_hosts` line.
pub fn parse_known_hosts_line(line: &str) -> Result<KnownHost, KnownHostsProblem> {
    let mut fields: Vec<&str> = line.split_whitespace().collect();
    let marker = match fields.first() {
        Some(m) if m.starts_with('@') => {
            if *m != "@cert-authority" && *m != "@revoked" {
                return Err(KnownHostsProblem {
                    message: format!("unknown marker `{m}`"),
                    hint: "the only markers are `@cert-authority` and `@revoked`".to_string(),
                });
            }
            Some(fields.remove(0).to_string())
        }
        _ => None,
    };
    let problem = |message: String, hint: &str| KnownHostsProblem {
        message,
        hint: hint.to_string(),
    };
    if fields.first().is_some_and(|f| KEY_TYPES.contains(f)) {
        return Err(problem(
            format!(
                "the line starts with the key type `{}`: the host name is missing",
                fields[0]
            ),
            "put the host name first: `github.com ssh-ed25519 AAAA...` (as `ssh-keyscan` prints it)",
        ));
    }
    if fields
        .iter()
        .any(|f| f.starts_with("SHA256:") || f.starts_with("MD5:"))
    {
        return Err(problem(
            "a key fingerprint is not a host key".to_string(),
            "write the whole public key (`ssh-keyscan -t ed25519 github.com`), then check its fingerprint with `ssh-keygen -lf`",
        ));
    }
    let [hosts, key_type, key, ..] = fields.as_slice() else {
        return Err(problem(
            format!(
                "expected `host keytype base64-key`, found {} field(s)",
                fields.len()
            ),
            KNOWN_HOSTS_SHAPE,
        ));
    };
    if !KEY_TYPES.contains(key_type) {
        return Err(problem(
            format!("`{key_type}` is not an SSH key type"),
            "use a key type `ssh-keyscan` prints: ssh-ed25519 (preferred), ecdsa-sha2-nistp256 or ssh-rsa",
        ));
    }
    let Some(blob) = decode_base64(key) else {
        return Err(problem(
            format!("the `{key_type}` key is not valid base64"),
            "paste the key exactly as `ssh-keyscan` prints it (one line, nothing cut off)",
        ));
    };
    if blob_key_type(&blob) != Some(key_type.as_bytes()) {
        return Err(problem(
            format!("the key is not an `{key_type}` key"),
            "the key type and the key come from different lines or were edited: paste the line as `ssh-keyscan` prints it",
        ));
    }
    Ok(KnownHost {
        marker,
        hosts: hosts.split(',').map(str::to_string).collect(),
        key_type: key_type.to_string(),
        key: key.to_string(),
    })
}

/// The key type string an SSH public key blob starts with (a length-prefixed string).
fn blob_key_type(blob: &[u8]) -> Option<&[u8]> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?);
    blob.get(4..4usize.checked_add(usize::try_from(len).ok()?)?)
}

/// Decodes standard base64 (padding optional), or `None` when it is not base64.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let body = text.trim_end_matches('=');
    if text.len() - body.len() > 2 || body.len() % 4 == 1 {
        return None;
    }
    if text.len() != body.len() && !text.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in body.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// Whether a `known_hosts` entry applies to `host` (on `port`, 22 when `None`). `None` when it
/// cannot be told (hashed host names).
pub fn known_host_matches(entry: &KnownHost, host: &str, port: Option<u16>) -> Option<bool> {
    let name = match port {
        Some(p) if p != 22 => format!("[{host}]:{p}"),
        _ => host.to_string(),
    };
    let name = name.to_ascii_lowercase();
    let mut matched = false;
    for pattern in &entry.hosts {
        if pattern.starts_with('|') {
            return None;
        }
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern.as_str()),
        };
        if glob(&pattern.to_ascii_lowercase(), &name) {
            if negated {
                return Some(false);
            }
            matched = true;
        }
    }
    Some(matched)
}

/// `*` and `?` wildcards, as in `known_hosts` host patterns.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == b'?' || *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

// ------------------------------------------------------------------------------ images

/// Why an image reference is not a pinned OCI reference: a message and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageProblem {
    pub message: String,
    pub hint: String,
}

/// Checks an OCI image reference (`[registry/]path[:tag][@sha256:digest]`) that must be
/// pinned: it needs a tag or a digest, and `latest` is accepted only with a digest.
pub fn check_image_reference(reference: &str) -> Result<(), ImageProblem> {
    let problem = |message: String, hint: String| Err(ImageProblem { message, hint });
    let example = "e.g. `registry.local:5000/egov/mdms-data:2024-06-01`";
    if reference.trim().is_empty() || reference.chars().any(char::is_whitespace) {
        return problem(
            format!("`{reference}` is not an image reference"),
            format!("write `registry/path:tag`, {example}"),
        );
    }
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    if let Some(digest) = digest {
        let hex = digest.strip_prefix("sha256:");
        let ok = hex.is_some_and(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if !ok {
            return problem(
                format!("`{reference}`: `{digest}` is not a sha256 digest"),
                "a digest is `@sha256:` and 64 lowercase hex digits (`crane digest` or `docker buildx imagetools inspect` prints it)".to_string(),
            );
        }
    }
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    let mut parts: Vec<&str> = repository.split('/').collect();
    // The first part is a registry when it looks like a host (`a.b`, `host:port`, `localhost`).
    if parts.len() > 1
        && parts
            .first()
            .is_some_and(|p| p.contains('.') || p.contains(':') || *p == "localhost")
    {
        let registry = parts.remove(0);
        if split_host_port(registry).is_none() {
            return problem(
                format!("`{reference}`: `{registry}` is not a registry host"),
                format!("write `host[:port]/path:tag`, {example}"),
            );
        }
    }
    if let Some(bad) = parts.iter().find(|p| !valid_path_component(p)) {
        return problem(
            format!("`{reference}`: `{bad}` is not a valid repository path component"),
            "repository paths are lowercase letters and digits, separated by `.`, `_`, `__` or `-`"
                .to_string(),
        );
    }
    match tag {
        Some(t) if !valid_tag(t) => problem(
            format!("`{reference}`: `{t}` is not a valid tag"),
            "a tag is up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`"
                .to_string(),
        ),
        Some("latest") if digest.is_none() => problem(
            format!("`{reference}` uses the tag `latest`, which moves"),
            format!("pin a dated or versioned tag or an `@sha256:` digest, {example}"),
        ),
        None if digest.is_none() => problem(
            format!("`{reference}` has no tag or digest, so it means `latest`, which moves"),
            format!("pin a tag or an `@sha256:` digest, {example}"),
        ),
        _ => Ok(()),
    }
}

fn valid_path_component(part: &str) -> bool {
    let b = part.as_bytes();
    let separator = |c: &u8| matches!(c, b'.' | b'_' | b'-');
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || separator(c))
        && !b.first().is_some_and(separator)
        && !b.last().is_some_and(separator)
}

fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
        && !matches!(b.first(), Some(b'.' | b'-'))
}

// ------------------------------------------------------------------------------ the check

/// The string at `key` of `node`, unless it is a placeholder (reported already) or blank
/// (reported by the schema walk).
fn plain<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.get(key)
        .and_then(Node::as_str)
        .filter(|s| placeholders(s).is_empty() && !s.trim().is_empty())
}

fn file_name(location: &Option<Location>) -> String {
    location
        .as_ref()
        .map(|l| l.file.display().to_string())
        .unwrap_or_default()
}

/// Checks every entry of `spec.configSources`.
pub fn check(tree: &Node, sources: &SourceMap, out: &mut Vec<Diagnostic>) {
    let Some(config) = tree.path(&["spec", "configSources"]) else {
        return;
    };
    for (key, source) in config.entries() {
        let kind = key.name.as_str();
        if !ConfigSourceKind::ALL.iter().any(|k| k.as_str() == kind)
            || !matches!(source.value, Value::Map(_))
        {
            continue;
        }
        let base = ["spec", "configSources", kind];
        let git = source.get("git");
        let image = source.get("image");
        match (git, image) {
            (Some(_), Some(_)) => {
                let git_at = sources.locate_key(&base, "git");
                let image_at = sources.locate_key(&base, "image");
                let mut hint = "keep one: `git` checks out a pinned revision, `image` copies the files from an OCI image (for air-gapped sites)".to_string();
                if file_name(&git_at) != file_name(&image_at) {
                    hint.push_str(&format!(
                        "; `git` comes from {} and `image` from {}: to replace an inherited one, write `git: null` or `image: null` next to the other",
                        file_name(&git_at),
                        file_name(&image_at)
                    ));
                }
                out.push(
                    Diagnostic::error(
                        codes::CONFIG_SOURCE,
                        format!("`spec.configSources.{kind}` has both `git` and `image`"),
                    )
                    .at(image_at)
                    .hint(hint),
                );
            }
            (None, None) => out.push(
                Diagnostic::error(
                    codes::CONFIG_SOURCE,
                    format!("`spec.configSources.{kind}` has neither `git` nor `image`"),
                )
                .at(sources.locate_entry(&base))
                .hint("add `git: {repo: ..., revision: <commit SHA>}`, or `image: <registry/path:tag>` for an image that carries the files"),
            ),
            _ => {}
        }
        if let Some(git) = git.filter(|g| matches!(g.value, Value::Map(_))) {
            check_git(git, kind, sources, out);
        }
        if let Some(image) = plain(source, "image")
            && let Err(p) = check_image_reference(image)
        {
            out.push(
                Diagnostic::error(
                    codes::IMAGE,
                    format!("`spec.configSources.{kind}.image`: {}", p.message),
                )
                .at(sources.locate(&["spec", "configSources", kind, "image"]))
                .hint(p.hint),
            );
        }
    }
}

fn check_git(git: &Node, kind: &str, sources: &SourceMap, out: &mut Vec<Diagnostic>) {
    let base = ["spec", "configSources", kind, "git"];
    let at = |field: &str| {
        let mut path = base.to_vec();
        path.push(field);
        sources.locate(&path)
    };
    let place = format!("spec.configSources.{kind}.git");

    let transport = plain(git, "repo").map(|repo| (repo, parse_repo(repo)));
    if let Some((repo, None)) = transport {
        out.push(
            Diagnostic::error(
                codes::GIT_REPO,
                format!("`{place}.repo`: `{repo}` is not a git repository URL"),
            )
            .at(at("repo"))
            .hint("write `https://github.com/org/repo.git`, `ssh://git@host/org/repo.git` or `git@github.com:org/repo.git`"),
        );
    }

    if let Some(revision) = plain(git, "revision")
        && classify_revision(revision) == RevisionKind::Branch
    {
        out.push(
            Diagnostic::warning(
                codes::UNPINNED_REVISION,
                format!("`{place}.revision`: `{revision}` looks like a branch, which moves: pods started on different days can read different configuration"),
            )
            .at(at("revision"))
            .hint("pin a commit: the full 40-character SHA (`git ls-remote <repo> <branch>` prints it), or a release tag"),
        );
    }

    if let Some(name) = plain(git, "sshKeySecret")
        && !is_dns_name(name)
    {
        out.push(
            Diagnostic::error(
                codes::NAME,
                format!("`{place}.sshKeySecret`: `{name}` is not a valid Secret name"),
            )
            .at(at("sshKeySecret"))
            .hint("use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (default `git-sync`)"),
        );
    }

    let ssh = match &transport {
        Some((_, Some(RepoTransport::Ssh { host, port }))) => Some((host.clone(), *port)),
        _ => None,
    };
    let known_hosts = git.get("knownHosts");
    match (known_hosts, &ssh) {
        (None, Some((host, port))) => {
            let scan = match port {
                Some(p) if *p != 22 => format!("ssh-keyscan -t ed25519 -p {p} {host}"),
                _ => format!("ssh-keyscan -t ed25519 {host}"),
            };
            out.push(
                Diagnostic::error(
                    codes::KNOWN_HOSTS,
                    format!("`{place}.repo` is an SSH repository but `knownHosts` is missing: the host key would not be checked"),
                )
                .at(at("repo"))
                .hint(format!(
                    "pin the host key: add `knownHosts:` with the output of `{scan}` (check its fingerprint against the one {host} publishes), or use an https:// URL"
                )),
            );
        }
        (Some(node), _) => {
            if let Some(text) = node.as_str().filter(|s| placeholders(s).is_empty()) {
                check_known_hosts(text, node, &place, &base, ssh, sources, out);
            }
        }
        (None, None) => {}
    }
}

fn check_known_hosts(
    text: &str,
    node: &Node,
    place: &str,
    base: &[&str],
    ssh: Option<(String, Option<u16>)>,
    sources: &SourceMap,
    out: &mut Vec<Diagnostic>,
) {
    let mut path = base.to_vec();
    path.push("knownHosts");
    let value_at = sources.locate(&path);
    // Line `n` of a block scalar is at its content line + n; a flow scalar is one place.
    let line_at = |index: usize| {
        let mut location = value_at.clone()?;
        if node.block_scalar {
            location.line = node.content_pos().line + index;
        }
        Some(location)
    };
    let mut entries = Vec::new();
    let mut bad = false;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match parse_known_hosts_line(trimmed) {
            Ok(entry) => entries.push(entry),
            Err(p) => {
                bad = true;
                out.push(
                    Diagnostic::error(
                        codes::KNOWN_HOSTS,
                        format!("`{place}.knownHosts` line {}: {}", index + 1, p.message),
                    )
                    .at(line_at(index))
                    .hint(p.hint),
                );
            }
        }
    }
    if bad {
        return;
    }
    if entries.is_empty() {
        out.push(
            Diagnostic::error(
                codes::KNOWN_HOSTS,
                format!("`{place}.knownHosts` holds no host key"),
            )
            .at(value_at)
            .hint(KNOWN_HOSTS_SHAPE),
        );
        return;
    }
    let Some((host, port)) = ssh else {
        return;
    };
    let mut unknown = false;
    let mut found = false;
    for entry in entries
        .iter()
        .filter(|e| e.marker.as_deref() != Some("@revoked"))
    {
        match known_host_matches(entry, &host, port) {
            Some(true) => found = true,
            Some(false) => {}
            None => unknown = true,
        }
    }
    if !found && !unknown {
        let scan = match port {
            Some(p) if p != 22 => format!("ssh-keyscan -t ed25519 -p {p} {host}"),
            _ => format!("ssh-keyscan -t ed25519 {host}"),
        };
        out.push(
            Diagnostic::error(
                codes::KNOWN_HOSTS,
                format!("`{place}.knownHosts` has no key for `{host}`, the host of `repo`: the clone would be refused"),
            )
            .at(value_at)
            .hint(format!("add the line `{scan}` prints (check its fingerprint against the one {host} publishes)")),
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::test_support::{single_file, summary};
    use govdeploy_yaml::Severity;

    /// GitHub's published ed25519 host key.
    const GITHUB_ED25519: &str =
        "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

    fn run(text: &str) -> Vec<Diagnostic> {
        let (tree, sources) = single_file(text);
        let mut out = Vec::new();
        check(&tree, &sources, &mut out);
        out
    }

    #[test]
    fn revisions() {
        let sha = "0123456789abcdef0123456789ABCDEF01234567";
        assert_eq!(classify_revision(sha), RevisionKind::Commit);
        assert_eq!(classify_revision(&"a".repeat(64)), RevisionKind::Commit);
        for tag in [
            "v2.9.0",
            "DIGIT-2.9-LTS",
            "refs/tags/release",
            "1.0",
            "abc1234",
        ] {
            assert_eq!(classify_revision(tag), RevisionKind::Tag, "{tag}");
        }
        for branch in [
            "master",
            "main",
            "Develop",
            "feature/pgr",
            "refs/heads/v2.9",
            "",
        ] {
            assert_eq!(classify_revision(branch), RevisionKind::Branch, "{branch}");
        }
    }

    #[test]
    fn repositories() {
        let ssh = |host: &str, port| {
            Some(RepoTransport::Ssh {
                host: host.into(),
                port,
            })
        };
        assert_eq!(
            parse_repo("https://github.com/egovernments/egov-mdms-data.git"),
            Some(RepoTransport::Https)
        );
        assert_eq!(parse_repo("http://git.local/x"), Some(RepoTransport::Http));
        assert_eq!(parse_repo("git://git.local/x"), Some(RepoTransport::Git));
        assert_eq!(
            parse_repo("git@github.com:egovernments/configs.git"),
            ssh("github.com", None)
        );
        assert_eq!(parse_repo("GitHub.com:org/x"), ssh("github.com", None));
        assert_eq!(
            parse_repo("ssh://git@git.example.org:2222/org/x.git"),
            ssh("git.example.org", Some(2222))
        );
        assert_eq!(parse_repo("git+ssh://h/x"), ssh("h", None));
        assert_eq!(
            parse_repo("ssh://git@[2001:db8::1]:22/x"),
            ssh("2001:db8::1", Some(22))
        );
        for bad in [
            "",
            "github.com/egovernments/configs",
            "/srv/git/configs",
            "file:///srv/git/configs",
            "https://github.com",
            "https://github.com/",
            "ssh://h:0/x",
            "ssh://h:99999/x",
            "git@github.com:",
            "git@git hub.com:x",
            "ftp://h/x",
        ] {
            assert_eq!(parse_repo(bad), None, "{bad}");
        }
    }

    #[test]
    fn known_hosts_lines() {
        let line = format!("github.com ssh-ed25519 {GITHUB_ED25519}");
        let entry = parse_known_hosts_line(&line).unwrap();
        assert_eq!(entry.hosts, ["github.com"]);
        assert_eq!(entry.key_type, "ssh-ed25519");
        assert_eq!(known_host_matches(&entry, "github.com", None), Some(true));
        assert_eq!(
            known_host_matches(&entry, "github.com", Some(2222)),
            Some(false)
        );
        assert_eq!(known_host_matches(&entry, "gitlab.com", None), Some(false));

        let entry = parse_known_hosts_line(&format!(
            "@cert-authority *.example.org,!bad.example.org,[git.local]:2222 ssh-ed25519 {GITHUB_ED25519} comment here"
        ))
        .unwrap();
        assert_eq!(entry.marker.as_deref(), Some("@cert-authority"));
        assert_eq!(
            known_host_matches(&entry, "git.example.org", None),
            Some(true)
        );
        assert_eq!(
            known_host_matches(&entry, "bad.example.org", None),
            Some(false)
        );
        assert_eq!(
            known_host_matches(&entry, "git.local", Some(2222)),
            Some(true)
        );
        let hashed = parse_known_hosts_line(&format!(
            "|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= ssh-ed25519 {GITHUB_ED25519}"
        ))
        .unwrap();
        assert_eq!(known_host_matches(&hashed, "github.com", None), None);

        let err = |l: &str| parse_known_hosts_line(l).unwrap_err();
        assert!(
            err(&format!("ssh-ed25519 {GITHUB_ED25519}"))
                .message
                .contains("host name is missing")
        );
        assert!(
            err("256 SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU github.com (ED25519)")
                .message
                .contains("fingerprint")
        );
        assert!(err("github.com").message.contains("1 field(s)"));
        assert!(
            err(&format!("github.com ssh-foo {GITHUB_ED25519}"))
                .message
                .contains("not an SSH key type")
        );
        assert!(
            err("github.com ssh-ed25519 AAAA$$")
                .message
                .contains("base64")
        );
        assert!(
            err(&format!("github.com ssh-rsa {GITHUB_ED25519}"))
                .message
                .contains("not an `ssh-rsa` key")
        );
        assert!(
            err(&format!("@trusted github.com ssh-ed25519 {GITHUB_ED25519}"))
                .message
                .contains("marker")
        );
    }

    #[test]
    fn base64() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVsbG8").unwrap(), b"hello");
        assert_eq!(decode_base64("").unwrap(), b"");
        assert!(decode_base64("aGVsbG8==").is_none());
        assert!(decode_base64("a").is_none());
        assert!(decode_base64("aG=k").is_none());
        assert!(decode_base64("a===").is_none());
    }

    #[test]
    fn globs() {
        assert!(glob("*.example.org", "git.example.org"));
        assert!(!glob("*.example.org", "example.org"));
        assert!(glob("git?.local", "git1.local"));
        assert!(glob("*", "anything"));
        assert!(!glob("a*b", "acd"));
        assert!(glob("a*b*c", "axxbyyc"));
    }

    #[test]
    fn images() {
        for ok in [
            "registry.local:5000/egov/mdms-data:2024-06-01",
            "egovio/configs:v2.9.0",
            "configs:1",
            "localhost/x/y:v1",
            &format!("registry.local/egov/configs@sha256:{}", "a".repeat(64)),
            &format!(
                "registry.local/egov/configs:latest@sha256:{}",
                "0".repeat(64)
            ),
        ] {
            assert_eq!(check_image_reference(ok), Ok(()), "{ok}");
        }
        let msg = |r: &str| check_image_reference(r).unwrap_err().message;
        assert!(msg("egovio/configs").contains("no tag or digest"));
        assert!(msg("registry.local:5000/egov/configs").contains("no tag or digest"));
        assert!(msg("egovio/configs:latest").contains("`latest`"));
        assert!(msg("egovio/configs@sha256:abc").contains("not a sha256 digest"));
        assert!(msg("egovio/configs@md5:abc").contains("not a sha256 digest"));
        assert!(msg("egovio/Configs:v1").contains("`Configs`"));
        assert!(msg("egovio/configs:.v1").contains("not a valid tag"));
        assert!(msg("egov io/configs:v1").contains("not an image reference"));
        assert!(msg("bad_host.local:x/configs:v1").contains("registry host"));
    }

    fn doc(config: &str) -> String {
        format!("spec:\n  configSources:\n{config}")
    }

    #[test]
    fn a_pinned_https_source_and_an_image_pass() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let diags = run(&doc(&format!(
            "    mdms-data:\n      git: {{repo: \"https://github.com/egovernments/egov-mdms-data.git\", revision: {sha}}}\n    configs:\n      image: registry.local/egov/configs:v2.9.0\n    other:\n      git: {{repo: \"https://x.org/r.git\", revision: v1.2.3}}\n"
        )));
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn both_or_neither_source() {
        let diags = run(&doc(
            "    mdms-data:\n      git: {repo: \"https://x.org/r.git\", revision: v1}\n      image: x/y:v1\n    configs: {}\n",
        ));
        assert_eq!(
            summary(&diags),
            ["5:7 E-SPEC-CONFIG-SOURCE", "6:5 E-SPEC-CONFIG-SOURCE"]
        );
        assert_eq!(
            diags[0].message,
            "`spec.configSources.mdms-data` has both `git` and `image`"
        );
        assert!(diags[0].hint.as_deref().unwrap().starts_with("keep one"));
        assert!(diags[1].hint.as_deref().unwrap().contains("`image:"));
    }

    #[test]
    fn branches_are_a_warning() {
        let diags = run(&doc(
            "    mdms-data:\n      git: {repo: \"https://x.org/r.git\", revision: master}\n",
        ));
        assert_eq!(summary(&diags), ["4:52 W-SPEC-UNPINNED-REVISION"]);
        assert_eq!(diags[0].severity, Severity::Warning);
        assert!(
            diags[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("40-character SHA")
        );
    }

    #[test]
    fn ssh_repositories_need_pinned_host_keys() {
        let diags = run(&doc(
            "    mdms-data:\n      git:\n        repo: git@github.com:egovernments/egov-mdms-data.git\n        revision: v2.9.0\n",
        ));
        assert_eq!(summary(&diags), ["5:15 E-SPEC-KNOWN-HOSTS"]);
        assert!(
            diags[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("`ssh-keyscan -t ed25519 github.com`"),
            "{:?}",
            diags[0].hint
        );

        let diags = run(&doc(
            "    mdms-data:\n      git:\n        repo: ssh://git@git.local:2222/x.git\n        revision: v2.9.0\n",
        ));
        assert!(
            diags[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("-p 2222 git.local")
        );

        let good = format!(
            "    mdms-data:\n      git:\n        repo: git@github.com:egovernments/egov-mdms-data.git\n        revision: v2.9.0\n        knownHosts: |\n          # GitHub\n          github.com ssh-ed25519 {GITHUB_ED25519}\n"
        );
        assert!(run(&doc(&good)).is_empty(), "{:?}", run(&doc(&good)));
    }

    #[test]
    fn known_hosts_lines_are_located() {
        let diags = run(&doc(&format!(
            "    mdms-data:\n      git:\n        repo: git@github.com:org/x.git\n        revision: v1\n        knownHosts: |\n          github.com ssh-ed25519 {GITHUB_ED25519}\n\n          ssh-ed25519 {GITHUB_ED25519}\n          github.com ssh-rsa AAAA\n    configs:\n      git:\n        repo: git@github.com:org/x.git\n        revision: v1\n        knownHosts: \"gitlab.com ssh-ed25519 {GITHUB_ED25519}\"\n    other:\n      git:\n        repo: \"https://x.org/r.git\"\n        revision: v1\n        knownHosts: \"# nothing\"\n        sshKeySecret: Git_Sync\n"
        )));
        assert_eq!(
            summary(&diags),
            [
                "10:11 E-SPEC-KNOWN-HOSTS",
                "11:11 E-SPEC-KNOWN-HOSTS",
                "16:21 E-SPEC-KNOWN-HOSTS",
                "22:23 E-SPEC-NAME",
                "21:21 E-SPEC-KNOWN-HOSTS",
            ]
        );
        assert!(
            diags[0]
                .message
                .contains("line 3: the line starts with the key type")
        );
        assert!(diags[1].message.contains("line 4:"), "{}", diags[1].message);
        assert!(diags[2].message.contains("no key for `github.com`"));
        assert!(diags[4].message.contains("no host key"));
    }

    #[test]
    fn bad_repositories_and_images() {
        let diags = run(&doc(
            "    mdms-data:\n      git: {repo: github.com/org/x, revision: v1}\n    configs:\n      image: egovio/configs:latest\n    other:\n      image: <image>\n",
        ));
        assert_eq!(
            summary(&diags),
            ["4:19 E-SPEC-GIT-REPO", "6:14 E-SPEC-IMAGE"]
        );
        assert_eq!(
            diags[1].message,
            "`spec.configSources.configs.image`: `egovio/configs:latest` uses the tag `latest`, which moves"
        );
    }
}
