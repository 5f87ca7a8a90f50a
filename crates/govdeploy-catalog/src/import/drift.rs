//! What the importer found wrong or surprising in a DIGIT-DevOps checkout. Drift is reported,
//! never fatal: a fork with a broken manifest still imports everything else.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftKind {
    /// A release manifest that is not valid YAML (or not the manifest shape).
    InvalidManifest,
    /// A release manifest entry that matches no chart and no native component.
    EntryWithoutChart,
    /// A chart values file with no `image.repository`: nothing to deploy.
    ChartWithoutImage,
    /// Two charts or values files that produce the same component name.
    DuplicateName,
    /// A Go-template construct the importer does not evaluate, or a template that fails.
    Template,
    /// An `egov-service-host` reference to a service no chart provides.
    UnknownServiceReference,
    /// A manifest entry or chart replaced by a natively modelled backbone component.
    ReplacedByNative,
    /// A values file that is not valid YAML.
    InvalidValues,
    /// A release entry with no chart, modelled from the manifest alone with default settings.
    ManifestOnly,
}

impl DriftKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftKind::InvalidManifest => "invalid-manifest",
            DriftKind::EntryWithoutChart => "entry-without-chart",
            DriftKind::ChartWithoutImage => "chart-without-image",
            DriftKind::DuplicateName => "duplicate-name",
            DriftKind::Template => "template",
            DriftKind::UnknownServiceReference => "unknown-service-reference",
            DriftKind::ReplacedByNative => "replaced-by-native",
            DriftKind::InvalidValues => "invalid-values",
            DriftKind::ManifestOnly => "manifest-only",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Drift {
    pub kind: DriftKind,
    /// Path relative to the checkout root.
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub col: Option<usize>,
    /// The chart, entry or service concerned.
    pub subject: String,
    pub message: String,
}

impl Drift {
    pub fn new(
        kind: DriftKind,
        file: impl Into<String>,
        subject: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Drift {
            kind,
            file: file.into(),
            line: None,
            col: None,
            subject: subject.into(),
            message: message.into(),
        }
    }

    /// Places the finding at a position of its file, when one is known.
    pub fn at(mut self, pos: Option<govdeploy_yaml::Pos>) -> Self {
        self.line = pos.map(|p| p.line);
        self.col = pos.map(|p| p.col);
        self
    }
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.col {
                write!(f, ":{col}")?;
            }
        }
        write!(
            f,
            ": {} [{}]: {}",
            self.subject,
            self.kind.as_str(),
            self.message
        )
    }
}
