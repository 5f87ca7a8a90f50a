//! Natively modelled backbone stores and cluster infrastructure (data in
//! `data/native-backbone.yaml`), added to every imported catalogue.

use std::collections::BTreeMap;

use crate::model::Component;

const NATIVE_BACKBONE: &str = include_str!("../data/native-backbone.yaml");

/// The native components. The data file is part of the binary and tested, so a parse failure
/// here is a build defect, reported as an empty map plus a failing unit test.
pub fn backbone() -> BTreeMap<String, Component> {
    serde_saphyr::from_str(NATIVE_BACKBONE).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn native_data_parses() {
        let parsed: Result<std::collections::BTreeMap<String, crate::model::Component>, _> =
            serde_saphyr::from_str(super::NATIVE_BACKBONE);
        let parsed = parsed.expect("native-backbone.yaml must parse");
        assert!(parsed.contains_key("kafka"));
        assert!(parsed.values().filter(|c| c.provides.is_some()).count() >= 5);
    }
}
