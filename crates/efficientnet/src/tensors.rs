//! Path-addressed access to every float tensor of a module (parameters and BatchNorm running
//! statistics), flattened to rank 1 so that one closure serves tensors of every rank. Paths are
//! the module's field names joined by `.`, e.g. `stages.1.blocks.0.MbConv.expand.bn.gamma`.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;

/// One float tensor of a module.
#[derive(Clone, Debug)]
pub struct FloatTensor {
    /// Its path in the module tree.
    pub path: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, flattened (`[product of shape]`).
    pub values: Tensor<1>,
}

/// Every float tensor of `module`, in module order.
pub fn float_tensors<M: Module>(module: &M) -> Vec<FloatTensor> {
    walk(module, true)
        .into_iter()
        .filter_map(|(path, shape, values)| {
            values.map(|values| FloatTensor {
                path,
                shape,
                values,
            })
        })
        .collect()
}

/// The path of every float tensor of `module`, in module order, without reading (or lazily
/// initialising) any value.
pub fn float_paths<M: Module>(module: &M) -> Vec<String> {
    walk(module, false)
        .into_iter()
        .map(|(path, _, _)| path)
        .collect()
}

/// `(path, shape, flattened values)` of every float tensor of `module`; the values only with
/// `read_values` (reading a lazily initialised parameter initialises it).
fn walk<M: Module>(module: &M, read_values: bool) -> Vec<(String, Vec<usize>, Option<Tensor<1>>)> {
    struct Collect {
        path: Vec<String>,
        read_values: bool,
        out: Vec<(String, Vec<usize>, Option<Tensor<1>>)>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let shape = param.shape().dims::<D>().to_vec();
            let n: usize = shape.iter().product();
            let values = self.read_values.then(|| param.val().reshape([n]));
            self.out.push((self.path.join("."), shape, values));
        }
    }
    let mut collect = Collect {
        path: Vec::new(),
        read_values,
        out: Vec::new(),
    };
    module.visit(&mut collect);
    collect.out
}

/// Rebuilds `module`, replacing every float tensor for which `f(path, values)` returns new
/// (flattened, same-length) values; the others are kept. A replaced trainable parameter stays
/// trainable (a new autodiff leaf).
pub fn map_float_tensors<M, F>(module: M, f: F) -> M
where
    M: Module,
    F: FnMut(&str, Tensor<1>) -> Option<Tensor<1>>,
{
    struct Mapper<F> {
        path: Vec<String>,
        f: F,
    }
    impl<F: FnMut(&str, Tensor<1>) -> Option<Tensor<1>>> ModuleMapper for Mapper<F> {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let path = self.path.join(".");
            let tensor = param.val();
            let dims = tensor.dims();
            let trainable = tensor.is_require_grad();
            let n: usize = dims.iter().product();
            match (self.f)(&path, tensor.reshape([n])) {
                // The new value is a fresh leaf, trainable if the old one was.
                Some(values) => {
                    param.map(|_| values.reshape(dims).detach().set_require_grad(trainable))
                }
                None => param,
            }
        }
    }
    module.map(&mut Mapper {
        path: Vec::new(),
        f,
    })
}

/// What a float tensor of an [`EfficientNet`](crate::EfficientNet) is, read from its path: the
/// one place where the model's field names (`bn`, `gamma`, `running_mean`, `classifier`) are
/// interpreted, for counting, exporting, loading and optimising.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamRole {
    /// Which kind of tensor it is.
    pub kind: ParamKind,
    /// Whether it belongs to the classifier (the last Linear layer).
    pub classifier: bool,
}

/// The kinds of float tensor in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// A convolution or Linear weight.
    Weight,
    /// A convolution or Linear bias.
    Bias,
    /// BatchNorm's scale (`gamma`, PyTorch `weight`).
    BnScale,
    /// BatchNorm's shift (`beta`, PyTorch `bias`).
    BnShift,
    /// A BatchNorm running statistic (`running_mean`, `running_var`): state, not trained.
    RunningStat,
}

impl ParamRole {
    /// The role of the tensor at `path` (e.g. `stages.1.blocks.0.MbConv.expand.bn.gamma`).
    pub fn of(path: &str) -> Self {
        let leaf = path.rsplit_once('.').map_or(path, |(_, leaf)| leaf);
        // BatchNorm's tensors have names no convolution or Linear layer uses.
        let kind = match leaf {
            "running_mean" | "running_var" => ParamKind::RunningStat,
            "gamma" => ParamKind::BnScale,
            "beta" => ParamKind::BnShift,
            "bias" => ParamKind::Bias,
            _ => ParamKind::Weight,
        };
        Self {
            kind,
            classifier: path.starts_with("classifier."),
        }
    }

    /// A trained parameter (PyTorch's `model.parameters()`), not a running statistic.
    pub fn trainable(self) -> bool {
        self.kind != ParamKind::RunningStat
    }

    /// Part of a BatchNorm layer (scale, shift or running statistic).
    pub fn batch_norm(self) -> bool {
        matches!(
            self.kind,
            ParamKind::BnScale | ParamKind::BnShift | ParamKind::RunningStat
        )
    }

    /// Subject to weight decay: weights only; BatchNorm and biases are exempt (timm, the paper).
    pub fn decays(self) -> bool {
        self.kind == ParamKind::Weight
    }

    /// The classifier's Linear weight, which Burn stores `[in, out]` and PyTorch `[out, in]`
    /// (transposed on import and export).
    pub fn linear_weight(self) -> bool {
        self.classifier && self.kind == ParamKind::Weight
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EfficientNetConfig;

    /// `(path, role, number of values)` of every float tensor of a full-size B0.
    fn b0_roles() -> Vec<(String, ParamRole, usize)> {
        let b0 = EfficientNetConfig::b0().init(&burn::tensor::Device::default());
        float_tensors(&b0)
            .into_iter()
            .map(|t| (ParamRole::of(&t.path), t))
            .map(|(role, t)| (t.path, role, t.shape.iter().product()))
            .collect()
    }

    fn count(roles: &[(String, ParamRole, usize)], f: impl Fn(&ParamRole) -> bool) -> usize {
        roles.iter().filter(|(_, role, _)| f(role)).count()
    }

    #[test]
    fn every_b0_tensor_has_its_role() {
        let roles = b0_roles();
        // 49 BatchNorm layers: stem, head, 2 in the first block (no expansion), 3 in the other 15.
        let kind = |k: ParamKind| move |r: &ParamRole| r.kind == k;
        assert_eq!(count(&roles, kind(ParamKind::RunningStat)), 2 * 49);
        assert_eq!(count(&roles, kind(ParamKind::BnScale)), 49);
        assert_eq!(count(&roles, kind(ParamKind::BnShift)), 49);
        assert_eq!(count(&roles, |r| r.batch_norm()), 4 * 49);
        // Biases: the two SE convolutions of each of the 16 blocks and the classifier's.
        assert_eq!(count(&roles, kind(ParamKind::Bias)), 2 * 16 + 1);
        // Weights: stem, head, 16 blocks' convolutions (2 + 15 * 3), 32 SE ones, classifier.
        assert_eq!(count(&roles, |r| r.decays()), 2 + 2 + 15 * 3 + 2 * 16 + 1);
        for (path, role, _) in &roles {
            let leaf = path.rsplit('.').next().unwrap_or_default();
            let running = leaf == "running_mean" || leaf == "running_var";
            assert_eq!(role.kind == ParamKind::RunningStat, running, "{path}");
            assert_eq!(!role.trainable(), running, "{path}");
            assert_eq!(role.batch_norm(), path.contains(".bn."), "{path}");
        }
        // The running statistics are all that is not trained: the published count remains.
        let trainable: usize = roles
            .iter()
            .filter(|(_, r, _)| r.trainable())
            .map(|t| t.2)
            .sum();
        assert_eq!(trainable, 5_288_548);
    }

    #[test]
    fn the_classifier_is_told_apart() {
        let roles = b0_roles();
        let classifier: Vec<_> = roles.iter().filter(|(_, r, _)| r.classifier).collect();
        let [(weight, weight_role, _), (bias, bias_role, _)] = classifier[..] else {
            panic!("the classifier has a weight and a bias, got {classifier:?}");
        };
        assert_eq!(
            (weight.as_str(), bias.as_str()),
            ("classifier.weight", "classifier.bias")
        );
        assert_eq!(weight_role.kind, ParamKind::Weight);
        assert!(weight_role.linear_weight() && weight_role.decays() && weight_role.trainable());
        assert_eq!(bias_role.kind, ParamKind::Bias);
        assert!(!bias_role.linear_weight() && !bias_role.decays());
        assert_eq!(count(&roles, |r| r.linear_weight()), 1);
        let gamma = ParamRole::of("stages.1.blocks.0.MbConv.expand.bn.gamma");
        assert_eq!((gamma.kind, gamma.classifier), (ParamKind::BnScale, false));
        assert!(gamma.batch_norm() && !gamma.decays());
        let beta = ParamRole::of("head.bn.beta");
        assert_eq!(beta.kind, ParamKind::BnShift);
        assert!(beta.batch_norm() && beta.trainable() && !beta.decays());
    }
}
