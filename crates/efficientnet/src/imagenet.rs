//! The 1000 ImageNet-1k class names, in class-index order (torchvision's
//! `_IMAGENET_CATEGORIES`; index = line of `LOC_synset_mapping.txt` = sorted WordNet id).

use std::sync::LazyLock;

static NAMES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| include_str!("imagenet_classes.txt").lines().collect());

/// Number of ImageNet-1k classes.
pub const NUM_CLASSES: usize = 1000;

/// All class names, index-ordered.
pub fn class_names() -> &'static [&'static str] {
    &NAMES
}

/// The name of class `index`, if it exists.
pub fn class_name(index: usize) -> Option<&'static str> {
    NAMES.get(index).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousand_names_in_torchvision_order() {
        assert_eq!(class_names().len(), NUM_CLASSES);
        assert_eq!(class_name(0), Some("tench"));
        assert_eq!(class_name(281), Some("tabby"));
        assert_eq!(class_name(967), Some("espresso"));
        assert_eq!(class_name(999), Some("toilet tissue"));
        assert_eq!(class_name(1000), None);
    }
}
