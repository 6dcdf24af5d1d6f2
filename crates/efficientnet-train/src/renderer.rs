//! Plain progress output for Burn's Learner: a line at every tenth of a split and one line of
//! metrics per split, instead of Burn's per-iteration debug lines (log files and CI friendly).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::{MetricDefinition, MetricId};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};

use crate::guard::LossGuard;

/// See the module docs.
pub struct LineRenderer {
    names: HashMap<MetricId, String>,
    latest: BTreeMap<String, String>,
    epoch: usize,
    total_epochs: usize,
    split: String,
    total_items: usize,
    shown_tenths: usize,
    split_started: Instant,
}

impl Default for LineRenderer {
    fn default() -> Self {
        Self {
            names: HashMap::new(),
            latest: BTreeMap::new(),
            epoch: 0,
            total_epochs: 0,
            split: String::new(),
            total_items: 0,
            shown_tenths: 0,
            split_started: Instant::now(),
        }
    }
}

impl LineRenderer {
    fn record(&mut self, state: MetricState) {
        let entry = match state {
            MetricState::Generic(e) | MetricState::Numeric(e, _) => e,
        };
        let name = self
            .names
            .get(&entry.metric_id)
            .cloned()
            .unwrap_or_else(|| format!("{:?}", entry.metric_id));
        // The loss guard speaks through its error, not through the progress lines.
        if name != LossGuard::NAME {
            self.latest.insert(name, entry.serialized_entry.formatted);
        }
    }
}

impl MetricsRendererTraining for LineRenderer {
    fn update_train(&mut self, state: MetricState) {
        self.record(state);
    }

    fn update_valid(&mut self, state: MetricState) {
        self.record(state);
    }
}

impl TrainingProgressLogger for LineRenderer {
    fn start(
        &mut self,
        total_epochs: usize,
        starting_epoch: usize,
        _total_items: Option<usize>,
        _label: Option<&str>,
    ) {
        self.total_epochs = total_epochs;
        self.epoch = starting_epoch;
        println!("training for {total_epochs} epochs (starting at epoch {starting_epoch})");
    }

    fn update_epoch(&mut self, epoch: usize) {
        // Called with the number of epochs completed.
        self.epoch = epoch + 1;
    }

    fn start_split(&mut self, split: &str, total_items: usize) {
        self.split = split.to_owned();
        self.total_items = total_items;
        self.shown_tenths = 0;
        self.latest.clear();
        self.split_started = Instant::now();
    }

    fn update_split(&mut self, items_processed: usize) {
        let tenths = (items_processed * 10)
            .checked_div(self.total_items)
            .unwrap_or(0);
        if tenths > self.shown_tenths && tenths < 10 {
            self.shown_tenths = tenths;
            let rate = items_processed as f64 / self.split_started.elapsed().as_secs_f64();
            println!(
                "  epoch {}/{} {}: {items_processed}/{} images, {rate:.1} images/s",
                self.epoch, self.total_epochs, self.split, self.total_items
            );
        }
    }

    fn end_split(&mut self) {
        let metrics: Vec<String> = self
            .latest
            .iter()
            .map(|(name, value)| format!("{name} {value}"))
            .collect();
        println!(
            "epoch {}/{} {} ({:.0} s): {}",
            self.epoch,
            self.total_epochs,
            self.split,
            self.split_started.elapsed().as_secs_f64(),
            metrics.join(" | ")
        );
    }

    fn end(&mut self) {}

    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for LineRenderer {
    fn start_global_progress(&mut self, _total_tests: usize) {}
    fn start_test(&mut self, _name: &str, _total_items: usize) {}
    fn update_test_progress(&mut self, _items_processed: usize) {}
    fn end_test(&mut self) {}
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRendererEvaluation for LineRenderer {
    fn update_test(&mut self, _name: EvaluationName, state: MetricState) {
        self.record(state);
    }
}

impl MetricsRenderer for LineRenderer {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names
            .insert(definition.metric_id.clone(), definition.name.to_string());
    }
}
