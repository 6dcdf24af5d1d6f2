//! The named constructors [`EfficientNetConfig::b0`] ... [`EfficientNetConfig::v2_b3`], one per
//! [`Variant`], each documenting the variant's scaling and its published parameter count.

use crate::config::EfficientNetConfig;
use crate::variants::Variant;

impl EfficientNetConfig {
    /// EfficientNet-B0: width 1.0, depth 1.0, 224 px, dropout 0.2 (5,288,548 parameters).
    pub fn b0() -> Self {
        Variant::B0.config()
    }

    /// EfficientNet-B1: width 1.0, depth 1.1, 240 px, dropout 0.2 (7,794,184 parameters).
    pub fn b1() -> Self {
        Variant::B1.config()
    }

    /// EfficientNet-B2: width 1.1, depth 1.2, 260 px, dropout 0.3 (9,109,994 parameters).
    pub fn b2() -> Self {
        Variant::B2.config()
    }

    /// EfficientNet-B3: width 1.2, depth 1.4, 300 px, dropout 0.3 (12,233,232 parameters).
    pub fn b3() -> Self {
        Variant::B3.config()
    }

    /// EfficientNet-B4: width 1.4, depth 1.8, 380 px, dropout 0.4 (19,341,616 parameters).
    pub fn b4() -> Self {
        Variant::B4.config()
    }

    /// EfficientNet-B5: width 1.6, depth 2.2, 456 px, dropout 0.4 (30,389,784 parameters).
    pub fn b5() -> Self {
        Variant::B5.config()
    }

    /// EfficientNet-B6: width 1.8, depth 2.6, 528 px, dropout 0.5 (43,040,704 parameters).
    pub fn b6() -> Self {
        Variant::B6.config()
    }

    /// EfficientNet-B7: width 2.0, depth 3.1, 600 px, dropout 0.5 (66,347,960 parameters).
    pub fn b7() -> Self {
        Variant::B7.config()
    }

    /// EfficientNet-B8: width 2.2, depth 3.6, 672 px, dropout 0.5 (87,413,142 parameters).
    pub fn b8() -> Self {
        Variant::B8.config()
    }

    /// EfficientNet-L2: width 4.3, depth 5.3, 800 px, dropout 0.5 (480,309,308 parameters).
    pub fn l2() -> Self {
        Variant::L2.config()
    }

    /// EfficientNet-Lite0: width 1.0, depth 1.0, 224 px, dropout 0.2, ReLU6, no
    /// SE (4,652,008 parameters).
    pub fn lite0() -> Self {
        Variant::Lite0.config()
    }

    /// EfficientNet-Lite1: width 1.0, depth 1.1, 240 px, dropout 0.2, ReLU6, no
    /// SE (5,416,680 parameters).
    pub fn lite1() -> Self {
        Variant::Lite1.config()
    }

    /// EfficientNet-Lite2: width 1.1, depth 1.2, 260 px, dropout 0.3, ReLU6, no
    /// SE (6,092,072 parameters).
    pub fn lite2() -> Self {
        Variant::Lite2.config()
    }

    /// EfficientNet-Lite3: width 1.2, depth 1.4, 280 px, dropout 0.3, ReLU6, no
    /// SE (8,197,096 parameters).
    pub fn lite3() -> Self {
        Variant::Lite3.config()
    }

    /// EfficientNet-Lite4: width 1.4, depth 1.8, 300 px, dropout 0.3, ReLU6, no
    /// SE (13,006,568 parameters).
    pub fn lite4() -> Self {
        Variant::Lite4.config()
    }

    /// EfficientNetV2-S: 384 px eval, dropout 0.2 (21,458,488 parameters).
    pub fn v2_s() -> Self {
        Variant::V2S.config()
    }

    /// EfficientNetV2-M: 480 px eval, dropout 0.3 (54,139,356 parameters).
    pub fn v2_m() -> Self {
        Variant::V2M.config()
    }

    /// EfficientNetV2-L: 480 px eval, dropout 0.4 (118,515,272 parameters).
    pub fn v2_l() -> Self {
        Variant::V2L.config()
    }

    /// EfficientNetV2-B0: width 1.0, depth 1.0, 224 px eval, dropout 0.2 (7,139,704 parameters).
    pub fn v2_b0() -> Self {
        Variant::V2B0.config()
    }

    /// EfficientNetV2-B1: width 1.0, depth 1.1, 240 px eval, dropout 0.2 (8,141,052 parameters).
    pub fn v2_b1() -> Self {
        Variant::V2B1.config()
    }

    /// EfficientNetV2-B2: width 1.1, depth 1.2, 260 px eval, dropout 0.3 (10,096,086 parameters).
    pub fn v2_b2() -> Self {
        Variant::V2B2.config()
    }

    /// EfficientNetV2-B3: width 1.2, depth 1.4, 300 px eval, dropout 0.3 (14,358,406 parameters).
    pub fn v2_b3() -> Self {
        Variant::V2B3.config()
    }
}
