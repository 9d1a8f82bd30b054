//! The Nexmark source: the generator as a parallel, replayable Weir source.
//!
//! Subtask `i` of `p` runs instance `i` of
//! [`GeneratorConfig::split_interleaved`]: the instances together emit exactly the
//! events of one unsplit generator, timestamps included, so a query's result does
//! not depend on the source's parallelism and equals an oracle computed from the
//! generated file. Every event carries its `date_time` as event time. The position
//! of each instance (events emitted so far) is its split state, so the source
//! replays exactly after a failure and rescales (a restored subtask may run several
//! instances).

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use weir::core::BoxError;
use weir::runtime::source::{Boundedness, PollStatus, ReaderContext, Source, SourceOutput, SourceReader};
use weir_nexmark::{ConfigError, Event, EventGenerator, GeneratorConfig, NexmarkConfig};

/// Events per poll: control messages enter the stream between polls.
const EVENTS_PER_POLL: usize = 1024;

/// Generates Nexmark events (see the module documentation).
#[derive(Debug, Clone)]
pub struct NexmarkSource {
    config: NexmarkConfig,
    rate: Option<f64>,
}

/// One generator instance's position: instance `index` of `of`, after `emitted`
/// events.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct SplitState {
    index: u32,
    of: u32,
    emitted: i64,
}

impl NexmarkSource {
    /// A source of `config.num_events` events (0: without end), as fast as it can.
    pub fn new(config: NexmarkConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        GeneratorConfig::new(&config)?;
        Ok(NexmarkSource { config, rate: None })
    }

    /// Emits at most `events_per_second` in total (the benchmark's TPS; event time
    /// still advances at `first_event_rate`). Ignored unless positive and finite.
    pub fn with_rate_limit(mut self, events_per_second: f64) -> Self {
        self.rate = (events_per_second.is_finite() && events_per_second > 0.0).then_some(events_per_second);
        self
    }

    /// The generator configuration.
    pub fn config(&self) -> &NexmarkConfig {
        &self.config
    }
}

struct Instance {
    index: u32,
    of: u32,
    generator: EventGenerator,
}

struct NexmarkReader {
    instances: Vec<Instance>,
    rate: Option<f64>,
    started: Option<Instant>,
    emitted: u64,
}

fn instance(config: &NexmarkConfig, state: SplitState) -> Result<Instance, BoxError> {
    let whole = GeneratorConfig::new(config)?;
    let split = whole
        .split_interleaved(state.of)?
        .into_iter()
        .nth(state.index as usize)
        .ok_or_else(|| format!("nexmark source: no instance {} of {}", state.index, state.of))?;
    Ok(Instance {
        index: state.index,
        of: state.of,
        generator: EventGenerator::with_events_so_far(split, state.emitted),
    })
}

impl SourceReader<Event> for NexmarkReader {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, Event>) -> Result<PollStatus, BoxError> {
        let mut budget = EVENTS_PER_POLL as u64;
        if let Some(rate) = self.rate {
            let started = *self.started.get_or_insert_with(Instant::now);
            let allowed = (started.elapsed().as_secs_f64() * rate) as u64 + 1;
            if allowed <= self.emitted {
                let due = started + Duration::from_secs_f64(self.emitted as f64 / rate);
                return Ok(PollStatus::Pending { retry_at: Some(due) });
            }
            budget = budget.min(allowed - self.emitted);
        }
        while budget > 0 {
            let Some(current) = self.instances.first_mut() else {
                return Ok(PollStatus::Finished);
            };
            match current.generator.next() {
                Some(event) => {
                    let timestamp = event.date_time();
                    output.collect_with_timestamp_in(current.index as usize, event, timestamp);
                    self.emitted += 1;
                    budget -= 1;
                }
                None => {
                    output.split_finished(current.index as usize);
                    self.instances.remove(0);
                }
            }
        }
        Ok(if self.instances.is_empty() {
            PollStatus::Finished
        } else {
            PollStatus::MoreAvailable
        })
    }

    fn snapshot_state(&mut self, _: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        self.instances
            .iter()
            .map(|i| {
                let state = SplitState {
                    index: i.index,
                    of: i.of,
                    emitted: i.generator.events_so_far(),
                };
                Ok(serde_json::to_vec(&state)?)
            })
            .collect()
    }
}

impl Source<Event> for NexmarkSource {
    fn boundedness(&self) -> Boundedness {
        if self.config.num_events > 0 {
            Boundedness::Bounded
        } else {
            Boundedness::Unbounded
        }
    }

    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<Event>>, BoxError> {
        let p = context.info.parallelism.max(1);
        let states: Vec<SplitState> = match &context.restored {
            Some(restored) => restored
                .iter()
                .map(|bytes| {
                    serde_json::from_slice(bytes).map_err(|e| format!("cannot restore a nexmark source position: {e}"))
                })
                .collect::<Result<_, _>>()?,
            None => vec![SplitState {
                index: context.info.index as u32,
                of: p as u32,
                emitted: 0,
            }],
        };
        let instances = states
            .into_iter()
            .map(|s| instance(&self.config, s))
            .collect::<Result<_, _>>()?;
        Ok(Box::new(NexmarkReader {
            instances,
            rate: self.rate.map(|r| r / p as f64),
            started: None,
            emitted: 0,
        }))
    }
}
