//! Classify images with pretrained EfficientNet weights through the library API.
//!
//! ```sh
//! cargo run -p efficientnet --example classify -- MODEL WEIGHTS IMAGE...
//! cargo run -p efficientnet --example classify -- lite0 efficientnet-lite0-57934424.pth cat.jpg
//! ```

use burn::tensor::Device;
use burn::tensor::activation::softmax;
use efficientnet::ModelName;
use efficientnet::imagenet::{self, top_k};
use efficientnet::preprocess::load_image;
use efficientnet::weights::Pretrained;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(model), Some(weights)) = (args.next(), args.next()) else {
        return Err("usage: classify MODEL WEIGHTS IMAGE...".into());
    };
    let name: ModelName = model.parse()?;
    let device = Device::flex();
    // The weight set's padding, BN eps and eval transform come from the table of weight sets,
    // by the model name and the file's (detected) key layout.
    let pretrained = Pretrained::open(&weights, name)?;
    let (model, _report) = pretrained.init(&device)?;
    let transform = pretrained.transform();

    for path in args {
        let image = load_image(path.as_ref())?;
        let batch = transform.batch(&[image], &device); // [1, 3, crop, crop]
        let probs: Vec<f32> = softmax(model.forward(batch), 1)
            .into_data()
            .convert::<f32>()
            .iter::<f32>()
            .collect();
        println!("{path}");
        for class in top_k(&probs, 5) {
            let label = imagenet::class_name(class).unwrap_or("?");
            println!("  {:>5.1}%  {label}", 100.0 * probs[class]);
        }
    }
    Ok(())
}
