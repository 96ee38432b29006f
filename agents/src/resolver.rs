//! Policies by name for a whole evaluation: each name parsed, each policy file read and checked
//! on the scenario once, before the first episode, with one line for each file made on another
//! model than today's; then a fresh policy for every episode from what was read.
//!
//! Names are what `handoff eval --policy` takes ([`crate::spec`]). Trained networks (`ckpt:DIR`)
//! need Burn and a run's configuration: the training crate's `PolicyMaker` plugs them in on top
//! of this resolver.

use std::collections::HashMap;

use handoff_env::{Policy, Scenario};

use crate::spec::{self, PolicyFile};

/// What `--strict` adds to a model mismatch when it refuses it.
const REFUSED: &str = "(refused with --strict)";

/// Policies by name, read once ([`PolicyResolver::new`]) and made as often as needed
/// ([`PolicyResolver::make`]).
#[derive(Debug, Clone, Default)]
pub struct PolicyResolver {
    files: HashMap<String, PolicyFile>,
    warnings: Vec<String>,
}

impl PolicyResolver {
    /// Reads and checks every policy among `names` on `scenario`. A tuned or corrected policy
    /// file made on another model version or scenario fingerprint than today's
    /// ([`PolicyFile::model_mismatch`]) is refused when `strict`, else noted in
    /// [`PolicyResolver::warnings`].
    pub fn new<'a>(
        names: impl IntoIterator<Item = &'a str>,
        scenario: &Scenario,
        strict: bool,
    ) -> Result<Self, String> {
        let mut resolver = Self::default();
        for name in names {
            resolver.add(name, scenario, strict)?;
        }
        Ok(resolver)
    }

    /// Reads and checks `name` (see [`PolicyResolver::new`]); a name read already is kept.
    pub fn add(&mut self, name: &str, scenario: &Scenario, strict: bool) -> Result<(), String> {
        if self.files.contains_key(name) {
            return Ok(());
        }
        let file = spec::policy_file(name).map_err(|e| e.to_string())?;
        file.param_set(scenario, name).map_err(|e| e.to_string())?;
        self.note_mismatch(file.model_mismatch(name), strict)?;
        self.files.insert(name.to_string(), file);
        Ok(())
    }

    /// What a policy made on another model than today's (`mismatch`, one line saying so) comes
    /// to: refused when `strict`, else a line of [`PolicyResolver::warnings`]. For policy files
    /// here, and for the trained networks a caller loads beside them.
    pub fn note_mismatch(&mut self, mismatch: Option<String>, strict: bool) -> Result<(), String> {
        match mismatch {
            Some(line) if strict => Err(format!("{line} {REFUSED}")),
            Some(line) => {
                self.warnings.push(line);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// One line for each policy made on another model than today's.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// A fresh policy called `name` on `scenario`: from what [`PolicyResolver::new`] read, or
    /// resolved now for a name it was not given.
    pub fn make(&self, name: &str, scenario: &Scenario) -> Result<Box<dyn Policy>, String> {
        match self.files.get(name) {
            Some(file) => file.build(scenario, name),
            None => spec::resolve(name, scenario),
        }
        .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_read_once_and_made_as_often_as_asked() {
        let scenario = Scenario::builtin("small").unwrap();
        let names = ["c-mu@max_chats=2", "taobao-c-mu", "study-treatment"];
        let resolver = PolicyResolver::new(names, &scenario, true).unwrap();
        assert!(resolver.warnings().is_empty(), "{:?}", resolver.warnings());
        for name in names {
            let (a, b) = (resolver.make(name, &scenario), resolver.make(name, &scenario));
            assert_eq!(a.unwrap().name(), b.unwrap().name());
        }
        let e = PolicyResolver::new(["c-mu@max_chats=99"], &scenario, false).unwrap_err();
        assert!(e.contains("max_chats"), "{e}");
        assert!(PolicyResolver::new(["no-such-rule"], &scenario, false).is_err());
    }
}
