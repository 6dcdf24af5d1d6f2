//! Classify images with pretrained EfficientNet weights through the library API.
//!
//! ```sh
//! cargo run -p efficientnet --example classify -- MODEL WEIGHTS IMAGE...
//! cargo run -p efficientnet --example classify -- lite0 efficientnet-lite0-57934424.pth cat.jpg
//! ```

use burn::tensor::Device;
use burn::tensor::activation::softmax;
use efficientnet::preprocess::load_image;
use efficientnet::weights::{LoadOptions, WeightSet, inspect, load_tensors, read_tensors};
use efficientnet::{ModelName, imagenet};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(model), Some(weights)) = (args.next(), args.next()) else {
        return Err("usage: classify MODEL WEIGHTS IMAGE...".into());
    };
    let name: ModelName = model.parse()?;
    let device = Device::flex();

    // Read the state dict, detect its layout, and take the weight set's padding, BN eps and
    // eval transform from the preset for this model and layout.
    let tensors = read_tensors(weights.as_ref())?;
    let (layout, _, _) = inspect(&tensors, None).ok_or("not an EfficientNet state dict")?;
    let preset = WeightSet::preset(name, layout);
    let model = preset.configure(name.config()).init(&device);
    let (model, _) = load_tensors(model, &tensors, &LoadOptions::default())?;

    for path in args {
        let image = load_image(path.as_ref())?;
        let batch = preset.transform.batch(&[image], &device); // [1, 3, crop, crop]
        let probs = softmax(model.forward(batch), 1)
            .into_data()
            .convert::<f32>();
        let probs: Vec<f32> = probs.iter::<f32>().collect();
        let mut order: Vec<usize> = (0..probs.len()).collect();
        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
        println!("{path}");
        for &class in order.iter().take(5) {
            let label = imagenet::class_name(class).unwrap_or("?");
            println!("  {:>5.1}%  {label}", 100.0 * probs[class]);
        }
    }
    Ok(())
}
