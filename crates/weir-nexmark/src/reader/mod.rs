//! Reading back the JSON lines of [`write_json_lines`](crate::write_json_lines)
//! (Flink's Nexmark Kafka table: `event_type` and the nested rows `person`,
//! `auction`, `bid`, two of them `null`; timestamps as Flink's SQL timestamp text).
//!
//! Two decoders of one line into an [`Event`](crate::Event), which accept and reject
//! the same lines:
//!
//! * [`JsonEvent`]: serde's `Deserialize`, for any serde JSON parser (remote derive
//!   straight into the event structs, no intermediate copy). Slower; its errors name
//!   the field.
//! * [`event_from_tape`]: a walk over the tape of a line parsed by
//!   [simd-json](https://docs.rs/simd-json) (what `weir nexmark run --input` uses),
//!   with an [`EventFields`] projection: string fields a query does not read are
//!   checked but not copied.
//!
//! ```
//! use weir_nexmark::{event_from_tape, json_line, Bid, Event, EventFields};
//!
//! let bid = Event::Bid(Bid {
//!     auction: 1000, bidder: 2001, price: 99, channel: "Google".into(),
//!     url: "https://example.com".into(), date_time: 1_704_067_200_120, extra: String::new(),
//! });
//! let mut line = Vec::new();
//! json_line(&bid, &mut line);
//! let tape = simd_json::to_tape(&mut line)?;
//! assert_eq!(event_from_tape(tape.as_value(), &EventFields::ALL)?, bid);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod serde_rows;
mod tape;

pub use serde_rows::{sql_timestamp, JsonEvent};
pub use tape::{event_from_tape, EventFields, JsonEventError};
