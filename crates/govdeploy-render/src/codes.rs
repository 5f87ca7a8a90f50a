//! Stable diagnostic codes of the render stage.

/// A Secret key the components read is not in the secrets file.
pub const SECRET_MISSING: &str = "E-RENDER-SECRET-MISSING";
/// A plaintext secrets file was given for a uat or prod environment.
pub const PLAINTEXT_SECRETS: &str = "E-RENDER-PLAINTEXT-SECRETS";
/// No secrets file: the Secrets must exist in the cluster before applying.
pub const SECRETS_NOT_RENDERED: &str = "W-RENDER-SECRETS-NOT-RENDERED";
/// An env var points at a service the plan does not deploy: it is left out.
pub const SERVICE_NOT_DEPLOYED: &str = "W-RENDER-SERVICE-NOT-DEPLOYED";
/// An env var reads a shared-config key nobody defines: it is left out.
pub const CONFIG_KEY_MISSING: &str = "W-RENDER-CONFIG-KEY-MISSING";
/// Components without a health endpoint in the catalogue get TCP probes (or none).
pub const NO_HTTP_PROBE: &str = "W-RENDER-NO-HTTP-PROBE";
/// A component has no image and cannot be rendered.
pub const NO_IMAGE: &str = "W-RENDER-NO-IMAGE";
/// Runtime configuration comes from an unpinned git branch.
pub const UNPINNED_CONFIG: &str = "W-RENDER-UNPINNED-CONFIG";
/// uat/prod need a pinned or bundled config source.
pub const CONFIG_SOURCE_REQUIRED: &str = "E-RENDER-CONFIG-SOURCE";
/// Secrets reach a component as env vars because its runtime cannot read files.
pub const SECRETS_AS_ENV: &str = "W-RENDER-SECRETS-AS-ENV";
/// An image without a tag in a uat or prod environment.
pub const UNPINNED_IMAGE: &str = "E-RENDER-UNPINNED-IMAGE";
/// An image without a tag in a development environment.
pub const UNPINNED_IMAGE_WARNING: &str = "W-RENDER-UNPINNED-IMAGE";
/// A store that runs without replication was given more than one replica.
pub const STORE_REPLICAS: &str = "E-RENDER-STORE-REPLICAS";
/// A component govdeploy does not render; it is installed from its own release.
pub const INSTALL_SEPARATELY: &str = "W-RENDER-INSTALL-SEPARATELY";
/// A catalogue env var gives a credential a literal value; it is read from a Secret instead.
pub const LITERAL_CREDENTIAL: &str = "W-RENDER-LITERAL-CREDENTIAL";
/// An object could not be serialised (an internal error; nothing is written).
pub const NOT_SERIALISABLE: &str = "E-RENDER-NOT-SERIALISABLE";
