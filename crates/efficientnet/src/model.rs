//! [`EfficientNet`]: stem, stages of blocks, head, classifier.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::{Device, Tensor};

use crate::arch::{ArchPlan, FeatureInfo};
use crate::blocks::{Block, BlockSettings, ConvBnAct, ConvBnActConfig, init};
use crate::config::EfficientNetConfig;
use crate::error::Result;
use crate::tensors::{ParamRole, float_tensors};

/// One stage: blocks of one kind and width, the first carrying the stride.
#[derive(Module, Debug)]
pub struct Stage {
    /// The blocks, in order.
    pub blocks: Vec<Block>,
}

/// An EfficientNet (V1, Lite or V2) built from an [`EfficientNetConfig`].
///
/// ```text
/// image [N, C, H, W]
///   -> stem: 3x3 conv s2 + BN + act                     [N, stem, H/2, W/2]
///   -> stages 0..S: MBConv / Fused-MBConv blocks         [N, C_s, H/r_s, W/r_s]
///   -> head: 1x1 conv + BN + act                         [N, head, H/32, W/32]
///   -> global average pool -> dropout -> linear          [N, num_classes]
/// ```
#[derive(Module, Debug)]
pub struct EfficientNet {
    /// 3x3 stride-2 stem convolution.
    pub stem: ConvBnAct,
    /// The stages of blocks.
    pub stages: Vec<Stage>,
    /// 1x1 head convolution to the pooled feature width.
    pub head: ConvBnAct,
    /// Dropout before the classifier.
    pub dropout: Dropout,
    /// The classifier (weight `[head, num_classes]`, Burn's row layout).
    pub classifier: Linear,
    /// Where the multi-scale endpoints are taken.
    #[module(skip)]
    pub feature_info: Vec<FeatureInfo>,
    /// The plan the network was built from (see [`plan`](Self::plan)).
    #[module(skip)]
    plan: ArchPlan,
}

impl EfficientNetConfig {
    /// Builds the network on `device`, initialised as the TF reference and timm.
    ///
    /// ```
    /// use burn::tensor::{Device, Distribution, Tensor};
    /// use efficientnet::{EfficientNetConfig, Variant};
    ///
    /// let device = Device::default();
    /// // B0 at a quarter width with a 10-class head (the full B0 builds the same way).
    /// let config = Variant::B0.config().with_width(0.25).with_num_classes(10);
    /// let model = config.init(&device);
    /// assert_eq!(model.num_classes(), 10);
    /// assert_eq!(model.num_trainable_params(), config.num_params());
    ///
    /// let images = Tensor::<4>::random([2, 3, 32, 32], Distribution::Default, &device);
    /// assert_eq!(model.forward(images).dims(), [2, 10]);
    /// ```
    ///
    /// # Panics
    /// If the config is invalid; use [`try_init`](Self::try_init) for configs from user input.
    pub fn init(&self, device: &Device) -> EfficientNet {
        match self.try_init(device) {
            Ok(model) => model,
            Err(err) => panic!("{err}"),
        }
    }

    /// Builds the network after checking the config with [`validate`](Self::validate).
    ///
    /// ```
    /// # use burn::tensor::Device;
    /// use efficientnet::EfficientNetConfig;
    ///
    /// let too_small = EfficientNetConfig::b0().with_resolution(16);
    /// let err = too_small.try_init(&Device::default()).expect_err("16 px is too small");
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid EfficientNet config: resolution must be at least 32, got 16"
    /// );
    /// ```
    pub fn try_init(&self, device: &Device) -> Result<EfficientNet> {
        self.validate()?;
        let plan = self.plan();
        let settings = BlockSettings {
            padding: self.padding,
            bn_eps: self.bn_eps,
            bn_momentum: self.bn_momentum,
            activation: self.activation,
        };
        let layer = |channels, kernel, stride| {
            ConvBnActConfig::from_settings(channels, kernel, stride, 1, &settings, true)
                .init(device)
        };
        Ok(EfficientNet {
            stem: layer([plan.in_channels, plan.stem_channels], 3, 2),
            stages: plan
                .stages
                .iter()
                .map(|blocks| Stage {
                    blocks: blocks
                        .iter()
                        .map(|b| Block::new(b, &settings, device))
                        .collect(),
                })
                .collect(),
            head: layer([plan.last_channels(), plan.head_channels], 1, 1),
            dropout: DropoutConfig::new(self.dropout).init(),
            classifier: init::linear(plan.head_channels, plan.num_classes, device),
            feature_info: plan.feature_info(),
            plan,
        })
    }
}

impl EfficientNet {
    /// Class logits.
    ///
    /// # Shapes
    /// - input: `[N, in_channels, H, W]`, any `H, W >= 32`
    /// - output: `[N, num_classes]`
    ///
    /// # Precision
    /// The network computes in the dtype of `x`. With f32 weights and a bf16 or f16 input
    /// (`images.cast(FloatDType::BF16)`) that is mixed precision: convolutions and the
    /// classifier run in half precision on half-precision copies of the weights, BatchNorm
    /// normalises in f32 (its statistics, running averages included, stay f32), and under
    /// autodiff the weight gradients come back in f32. The logits have the input's dtype.
    ///
    /// ```
    /// use burn::tensor::{Device, Distribution, Tensor};
    /// use efficientnet::EfficientNetConfig;
    ///
    /// let device = Device::default();
    /// let model = EfficientNetConfig::lite0().with_width(0.25).init(&device);
    /// // Not square, not a multiple of 32: the stride-2 layers round up.
    /// let images = Tensor::<4>::random([3, 3, 40, 56], Distribution::Default, &device);
    /// assert_eq!(model.forward(images.clone()).dims(), [3, 1000]);
    /// // The same as the backbone followed by the head.
    /// let backbone = model.forward_backbone(images.clone()); // [3, 80, 2, 2]
    /// assert_eq!(backbone.dims(), [3, 80, 2, 2]);
    /// model
    ///     .forward_head(backbone)
    ///     .into_data()
    ///     .assert_eq(&model.forward(images).into_data(), true);
    /// ```
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        #[cfg(feature = "flex")]
        if let Some(logits) = crate::kernels::fast_forward(self, &x) {
            return logits;
        }
        self.forward_head(self.forward_backbone(x))
    }

    /// Stem and all stages, without the head convolution.
    ///
    /// # Shapes
    /// - input: `[N, in_channels, H, W]`
    /// - output: `[N, C_last, ceil(H / 32), ceil(W / 32)]` (after five stride-2 reductions)
    pub fn forward_backbone(&self, x: Tensor<4>) -> Tensor<4> {
        self.stages
            .iter()
            .flat_map(|stage| &stage.blocks)
            .fold(self.stem.forward(x), |x, block| block.forward(x))
    }

    /// Head convolution, global average pool, dropout and classifier on backbone features.
    ///
    /// # Shapes
    /// - input: `[N, C_last, h, w]`
    /// - output: `[N, num_classes]`
    pub fn forward_head(&self, x: Tensor<4>) -> Tensor<2> {
        self.forward_classifier(self.forward_pre_logits(x))
    }

    /// Head convolution and global average pool: the pooled features the classifier sees
    /// (timm's `forward_head(x, pre_logits=True)`).
    ///
    /// # Shapes
    /// - input: `[N, C_last, h, w]`
    /// - output: `[N, head]` (1280 for B0)
    pub fn forward_pre_logits(&self, x: Tensor<4>) -> Tensor<2> {
        let x = self.head.forward(x); // [N, head, h, w]
        let [n, c, _, _] = x.dims();
        x.mean_dim(3).mean_dim(2).reshape([n, c])
    }

    /// Dropout and the linear classifier on pooled features.
    ///
    /// # Shapes
    /// - input: `[N, head]`
    /// - output: `[N, num_classes]`
    pub fn forward_classifier(&self, pooled: Tensor<2>) -> Tensor<2> {
        crate::kernels::linear(&self.classifier, self.dropout.forward(pooled))
    }

    /// The multi-scale endpoints at strides 2, 4, 8, 16, 32 (the last stage output at each
    /// reduction, as timm `features_only`), for detection and segmentation backbones.
    ///
    /// # Shapes
    /// - input: `[N, in_channels, H, W]`
    /// - output: five tensors `[N, C_i, ceil(H / s_i), ceil(W / s_i)]`, `s_i = 2, 4, 8, 16, 32`,
    ///   `C_i` from [`feature_info`](Self::feature_info)
    ///
    /// ```
    /// use burn::tensor::{Device, Distribution, Tensor};
    /// use efficientnet::EfficientNetConfig;
    ///
    /// let device = Device::default();
    /// let model = EfficientNetConfig::v2_b0().with_width(0.25).init(&device);
    /// let images = Tensor::<4>::random([2, 3, 64, 96], Distribution::Default, &device);
    /// let endpoints = model.forward_features(images);
    /// assert_eq!(endpoints.len(), 5);
    /// for (x, info) in endpoints.iter().zip(model.feature_info()) {
    ///     assert_eq!(x.dims(), [2, info.channels, 64 / info.stride, 96 / info.stride]);
    /// }
    /// assert_eq!(
    ///     model.feature_info().iter().map(|f| f.stride).collect::<Vec<_>>(),
    ///     [2, 4, 8, 16, 32]
    /// );
    /// ```
    pub fn forward_features(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        let mut endpoints = Vec::with_capacity(self.feature_info.len());
        let mut wanted = self.feature_info.iter().map(|f| f.stage).peekable();
        let mut x = self.stem.forward(x);
        for (index, stage) in self.stages.iter().enumerate() {
            x = stage.blocks.iter().fold(x, |x, block| block.forward(x));
            if wanted.next_if_eq(&index).is_some() {
                endpoints.push(x.clone());
            }
        }
        endpoints
    }

    /// Stage, stride and channels of each endpoint of [`forward_features`](Self::forward_features).
    pub fn feature_info(&self) -> &[FeatureInfo] {
        &self.feature_info
    }

    /// Number of classifier outputs.
    pub fn num_classes(&self) -> usize {
        self.classifier.weight.dims()[1]
    }

    /// Replaces the classifier with a freshly initialised one of `num_classes` outputs, keeping
    /// the backbone and head convolution (fine-tuning on a new label set).
    ///
    /// ```
    /// use burn::tensor::{Device, Distribution, Tensor};
    /// use efficientnet::EfficientNetConfig;
    ///
    /// let device = Device::default();
    /// let model = EfficientNetConfig::b0().with_width(0.25).init(&device);
    /// let stem = model.stem.conv.weight.val();
    /// let model = model.with_num_classes(5, &device);
    /// assert_eq!(model.num_classes(), 5);
    /// stem.into_data().assert_eq(&model.stem.conv.weight.val().into_data(), true);
    /// let images = Tensor::<4>::random([1, 3, 32, 32], Distribution::Default, &device);
    /// assert_eq!(model.forward(images).dims(), [1, 5]);
    /// ```
    ///
    /// # Panics
    /// If `num_classes` is 0.
    pub fn with_num_classes(mut self, num_classes: usize, device: &Device) -> Self {
        assert!(num_classes > 0, "num_classes must be at least 1");
        let features = self.classifier.weight.dims()[0];
        self.classifier = init::linear(features, num_classes, device);
        self.plan.num_classes = num_classes;
        self
    }

    /// The inference model with every BatchNorm folded into the convolution before it
    /// (the stem, each block's convolutions, the head): the same evaluation-mode outputs with
    /// one op less per layer. Not for training (the BatchNorm statistics are gone) nor for
    /// export to PyTorch layouts (which expect the BatchNorm tensors).
    ///
    /// On flex, the weights are also stored in the order the fast inference path reads them
    /// ([`kernels::tap_major`](crate::kernels::tap_major)), and `forward` of the result takes
    /// that path: about twice the op-by-op throughput for B0 on a 2-core CPU.
    ///
    /// ```
    /// use burn::module::Module;
    /// use burn::tensor::{Device, Distribution, Tensor, Tolerance};
    /// use efficientnet::EfficientNetConfig;
    ///
    /// let device = Device::default();
    /// let model = EfficientNetConfig::b0().with_width(0.25).init(&device);
    /// let images = Tensor::<4>::random([2, 3, 32, 32], Distribution::Default, &device);
    /// let logits = model.forward(images.clone());
    ///
    /// let params = model.num_params();
    /// let fused = model.fuse();
    /// assert!(fused.num_params() < params); // the BatchNorm tensors are gone
    /// fused
    ///     .forward(images)
    ///     .into_data()
    ///     .assert_approx_eq::<f32>(&logits.into_data(), Tolerance::absolute(1e-4));
    /// ```
    pub fn fuse(self) -> Self {
        Self {
            stem: self.stem.fuse(),
            stages: self
                .stages
                .into_iter()
                .map(|stage| Stage {
                    blocks: stage.blocks.into_iter().map(Block::fuse).collect(),
                })
                .collect(),
            head: self.head.fuse(),
            ..self
        }
    }

    /// All blocks in network order.
    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.stages.iter().flat_map(|s| &s.blocks)
    }

    /// The plan the network was built from: channels, kernels, strides and SE widths of every
    /// block ([`EfficientNetConfig::plan`]); [`with_num_classes`](Self::with_num_classes)
    /// updates its class count.
    pub fn plan(&self) -> &ArchPlan {
        &self.plan
    }

    /// Trainable parameters: [`Module::num_params`] minus the BatchNorm running statistics
    /// (comparable with PyTorch's `sum(p.numel() for p in model.parameters())`).
    pub fn num_trainable_params(&self) -> usize {
        float_tensors(self)
            .into_iter()
            .filter(|t| ParamRole::of(&t.path).trainable())
            .map(|t| t.shape.iter().product::<usize>())
            .sum()
    }
}
