//! Test fixture: a real plan of a small environment against the built-in catalogue, for
//! tests of object builders that need a [`Ctx`](crate::context::Ctx).

use govdeploy_catalog::Catalog;
use govdeploy_plan::Plan;
use govdeploy_spec::LoadedEnvironment;

use crate::context::RenderInput;

/// A prod environment of DIGIT core with the given `spec.backbone` entries.
pub fn environment(modules: &str, backbone: &str) -> String {
    format!(
        "apiVersion: govdeploy.io/v1
kind: Environment
metadata:
  name: test
spec:
  catalog: digit
  release: digit-core-v2.9
  modules: [{modules}]
  profile: prod
  domain: digit.example.org
  cluster:
    nodes:
      - name: worker
        count: 6
        cpu: \"8\"
        memory: 32Gi
  backbone:
{backbone}
"
    )
}

pub struct Fixture {
    pub plan: Plan,
    pub catalog: Catalog,
    pub loaded: LoadedEnvironment,
}

impl Fixture {
    pub fn new(env_yaml: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("env.yaml");
        std::fs::write(&path, env_yaml).expect("environment file written");
        let (loaded, _) = govdeploy_spec::load(&path).expect("valid environment");
        let catalog =
            govdeploy_catalog::store::load("digit", dir.path()).expect("built-in catalogue");
        let (plan, _) = govdeploy_plan::build(&loaded, &catalog).expect("plan");
        Fixture {
            plan,
            catalog,
            loaded,
        }
    }

    pub fn input(&self) -> RenderInput<'_> {
        RenderInput {
            plan: &self.plan,
            catalog: &self.catalog,
            environment: &self.loaded.env,
            secrets: None,
            plaintext_secrets: false,
        }
    }
}
