//! The stable diagnostic codes this crate reports. `E-` codes are errors, `W-` codes warnings.

/// The environment file (or a base) could not be read.
pub const IO: &str = "E-SPEC-IO";
/// Invalid YAML (syntax, several documents, unknown alias, complex key).
pub const YAML: &str = "E-SPEC-YAML";
/// The same mapping key twice, a module listed twice, or two node pools with one name.
pub const DUPLICATE: &str = "E-SPEC-DUPLICATE";
/// An `extends` entry that is not a file that can be read.
pub const EXTENDS: &str = "E-SPEC-EXTENDS";
/// `extends` entries that lead back to a file being loaded.
pub const EXTENDS_CYCLE: &str = "E-SPEC-EXTENDS-CYCLE";
/// Nesting deeper than any environment file needs (guards against hostile input).
pub const TOO_DEEP: &str = "E-SPEC-TOO-DEEP";
/// `apiVersion` is not `govdeploy.io/v1`.
pub const API_VERSION: &str = "E-SPEC-API-VERSION";
/// `kind` is not `Environment`.
pub const KIND: &str = "E-SPEC-KIND";
/// A key that is not allowed at its place.
pub const UNKNOWN_KEY: &str = "E-SPEC-UNKNOWN-KEY";
/// A value of the wrong type (a string where a list is expected, ...).
pub const TYPE: &str = "E-SPEC-TYPE";
/// A required key is missing.
pub const MISSING: &str = "E-SPEC-MISSING";
/// A value outside its allowed set (profile, backbone mode, ...).
pub const ENUM: &str = "E-SPEC-ENUM";
/// A number outside its allowed range (node pool `count` below 1, a port above 65535, ...).
pub const RANGE: &str = "E-SPEC-RANGE";
/// A `<placeholder>` left in a value.
pub const PLACEHOLDER: &str = "E-SPEC-PLACEHOLDER";
/// A malformed Kubernetes quantity.
pub const QUANTITY: &str = "E-SPEC-QUANTITY";
/// A component heap that does not fit below its memory limit.
pub const HEAP: &str = "E-SPEC-HEAP";
/// A backbone store with `mode: external` but no `host`.
pub const EXTERNAL_HOST: &str = "E-SPEC-EXTERNAL-HOST";
/// `metadata.name` is not a DNS-1123 label, or a Secret name (`sshKeySecret`) is not a
/// DNS-1123 subdomain.
pub const NAME: &str = "E-SPEC-NAME";
/// `spec.domain` is not a DNS name.
pub const DOMAIN: &str = "E-SPEC-DOMAIN";
/// The validated document still failed to deserialise (should not happen: a schema gap).
pub const DESERIALIZE: &str = "E-SPEC-DESERIALIZE";
/// `spec.digitEnvFile` cannot be read or is not a YAML mapping.
pub const DIGIT_ENV: &str = "E-SPEC-DIGIT-ENV";
/// A value or list that must not be empty is empty (a secrets file path, a list of ports...).
pub const EMPTY: &str = "E-SPEC-EMPTY";
/// A `spec.configSources` entry with both `git` and `image`, or neither.
pub const CONFIG_SOURCE: &str = "E-SPEC-CONFIG-SOURCE";
/// A config source `git.repo` that is not a git repository URL.
pub const GIT_REPO: &str = "E-SPEC-GIT-REPO";
/// An SSH config source without `knownHosts`, a malformed `knownHosts` line, or no key for
/// the repository's host.
pub const KNOWN_HOSTS: &str = "E-SPEC-KNOWN-HOSTS";
/// A config source `image` that is not a pinned OCI reference (no tag or digest, `latest`).
pub const IMAGE: &str = "E-SPEC-IMAGE";
/// An egress destination that is not a CIDR range.
pub const CIDR: &str = "E-SPEC-CIDR";
/// A `spec.sharedConfig` key that is not a valid ConfigMap key.
pub const CONFIG_KEY: &str = "E-SPEC-CONFIG-KEY";

/// `host`/`port` given for a backbone store that runs in the cluster: they are ignored.
pub const BACKBONE_IGNORED: &str = "W-SPEC-BACKBONE-IGNORED";
/// A malformed `replicas`, `memory_limits` or `heap` in the DIGIT env file: ignored.
pub const DIGIT_VALUE: &str = "W-SPEC-DIGIT-VALUE";
/// A `<placeholder>` in a DIGIT env file value govdeploy reads: ignored.
pub const DIGIT_PLACEHOLDER: &str = "W-SPEC-DIGIT-PLACEHOLDER";
/// A config source `git.revision` that looks like a branch: it moves.
pub const UNPINNED_REVISION: &str = "W-SPEC-UNPINNED-REVISION";
/// An egress destination of `0.0.0.0/0` or `::/0`: the whole internet.
pub const EGRESS_ANYWHERE: &str = "W-SPEC-EGRESS-ANYWHERE";

/// Every code, for documentation and tests.
pub const ALL: &[&str] = &[
    IO,
    YAML,
    DUPLICATE,
    EXTENDS,
    EXTENDS_CYCLE,
    TOO_DEEP,
    API_VERSION,
    KIND,
    UNKNOWN_KEY,
    TYPE,
    MISSING,
    ENUM,
    RANGE,
    PLACEHOLDER,
    QUANTITY,
    HEAP,
    EXTERNAL_HOST,
    NAME,
    DOMAIN,
    DESERIALIZE,
    DIGIT_ENV,
    EMPTY,
    CONFIG_SOURCE,
    GIT_REPO,
    KNOWN_HOSTS,
    IMAGE,
    CIDR,
    CONFIG_KEY,
    BACKBONE_IGNORED,
    DIGIT_VALUE,
    DIGIT_PLACEHOLDER,
    UNPINNED_REVISION,
    EGRESS_ANYWHERE,
];
