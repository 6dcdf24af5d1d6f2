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
    struct Collect {
        path: Vec<String>,
        out: Vec<FloatTensor>,
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
            self.out.push(FloatTensor {
                path: self.path.join("."),
                shape,
                values: param.val().reshape([n]),
            });
        }
    }
    let mut collect = Collect {
        path: Vec::new(),
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
