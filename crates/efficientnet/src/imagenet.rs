//! The 1000 ImageNet-1k classes in class-index order: their names (torchvision's
//! `_IMAGENET_CATEGORIES`) and WordNet ids (index = line of `LOC_synset_mapping.txt` = the
//! sorted WordNet ids, as in timm's `imagenet_synsets.txt`).

use std::sync::LazyLock;

static NAMES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| include_str!("imagenet_classes.txt").lines().collect());

static WNIDS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| include_str!("imagenet_synsets.txt").lines().collect());

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

/// The WordNet id of class `index` (`n01440764` for 0, tench), if it exists.
pub fn wnid(index: usize) -> Option<&'static str> {
    WNIDS.get(index).copied()
}

/// The class index of WordNet id `wnid` (ImageNet's class folders are named by it).
pub fn class_of_wnid(wnid: &str) -> Option<usize> {
    WNIDS.binary_search(&wnid).ok()
}

/// Indices of the `k` highest `scores` (e.g. one image's class probabilities), best first;
/// ties keep index order, and fewer than `k` come back when there are fewer scores.
///
/// ```
/// use efficientnet::imagenet::{class_name, top_k};
///
/// let mut probs = vec![0.0f32; 1000];
/// probs[967] = 0.85; // espresso
/// probs[968] = 0.08; // cup
/// probs[504] = 0.02; // coffee mug
/// let top3 = top_k(&probs, 3);
/// assert_eq!(top3, [967, 968, 504]);
/// let labels: Vec<_> = top3.iter().filter_map(|&i| class_name(i)).collect();
/// assert_eq!(labels, ["espresso", "cup", "coffee mug"]);
///
/// assert_eq!(top_k(&[0.2, 0.5, 0.5], 5), [1, 2, 0]);
/// ```
pub fn top_k(scores: &[f32], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order.truncate(k);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_ranks_best_first() {
        assert_eq!(top_k(&[0.1, 0.7, 0.05, 0.15], 3), [1, 3, 0]);
        assert_eq!(top_k(&[0.5, 0.5], 5), [0, 1]);
    }

    #[test]
    fn thousand_names_in_torchvision_order() {
        assert_eq!(class_names().len(), NUM_CLASSES);
        assert_eq!(class_name(0), Some("tench"));
        assert_eq!(class_name(281), Some("tabby"));
        assert_eq!(class_name(967), Some("espresso"));
        assert_eq!(class_name(999), Some("toilet tissue"));
        assert_eq!(class_name(1000), None);
    }

    #[test]
    fn wordnet_ids_sorted_and_indexed() {
        assert_eq!(WNIDS.len(), NUM_CLASSES);
        assert!(WNIDS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(wnid(0), Some("n01440764"));
        assert_eq!(class_of_wnid("n02123045"), Some(281)); // tabby
        assert_eq!(class_of_wnid("n07920052"), Some(967)); // espresso
        assert_eq!(class_of_wnid("n99999999"), None);
    }
}
