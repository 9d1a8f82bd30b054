//! Q21, add a channel id: bids of the four big channels get their number, other bids
//! the `channel_id` parameter of their URL; bids with neither are dropped.
//!
//! ```sql
//! SELECT auction, bidder, price, channel,
//!     CASE
//!         WHEN lower(channel) = 'apple' THEN '0'
//!         WHEN lower(channel) = 'google' THEN '1'
//!         WHEN lower(channel) = 'facebook' THEN '2'
//!         WHEN lower(channel) = 'baidu' THEN '3'
//!         ELSE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)
//!         END
//!     AS channel_id FROM bid
//!     where REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) is not null or
//!           lower(channel) in ('apple', 'google', 'facebook', 'baidu');
//! ```
//!
//! The regular expression is evaluated by plain string search, which is equivalent:
//! its leftmost match starts at 0 when the URL starts with `channel_id=`, else at the
//! first `&channel_id=`, and group 2 runs to the next `&` or the end. `lower(..) =`
//! is an ASCII case-insensitive comparison (the constants are ASCII).

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use weir::prelude::*;
use weir_nexmark::Event;

/// A row of Q21.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q21Row {
    /// The auction.
    pub auction: i64,
    /// The bidder.
    pub bidder: i64,
    /// The bid's price.
    pub price: i64,
    /// The channel.
    pub channel: String,
    /// `0` to `3` for Apple, Google, Facebook and Baidu, else the URL's `channel_id`.
    pub channel_id: Cow<'static, str>,
}

/// `REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)`.
pub fn extract_channel_id(url: &str) -> Option<&str> {
    const KEY: &str = "channel_id=";
    let start = if url.starts_with(KEY) {
        KEY.len()
    } else {
        url.find("&channel_id=")? + 1 + KEY.len()
    };
    let rest = &url[start..];
    Some(rest.split('&').next().unwrap_or(rest))
}

/// The id of the four named channels (`lower(channel)` equal to one of them).
fn known_channel_id(channel: &str) -> Option<&'static str> {
    [("apple", "0"), ("google", "1"), ("facebook", "2"), ("baidu", "3")]
        .into_iter()
        .find(|(name, _)| channel.eq_ignore_ascii_case(name))
        .map(|(_, id)| id)
}

/// Builds Q21 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Q21Row> {
    events
        .flat_map(|event: Event| match event {
            Event::Bid(b) => {
                let channel_id = match known_channel_id(&b.channel) {
                    Some(id) => Cow::Borrowed(id),
                    None => Cow::Owned(extract_channel_id(&b.url)?.to_string()),
                };
                Some(Q21Row {
                    auction: b.auction,
                    bidder: b.bidder,
                    price: b.price,
                    channel: b.channel,
                    channel_id,
                })
            }
            _ => None,
        })
        .name("q21: channel ids")
}

#[cfg(test)]
mod tests {
    use super::extract_channel_id;

    #[test]
    fn extracts_like_the_regular_expression() {
        assert_eq!(extract_channel_id("channel_id=7&x=1"), Some("7"));
        assert_eq!(extract_channel_id("https://a/b?q=1&channel_id=42"), Some("42"));
        assert_eq!(
            extract_channel_id("https://a/b?q=1&channel_id=42&z=2&channel_id=3"),
            Some("42")
        );
        assert_eq!(extract_channel_id("https://a/b?q=1&channel_id="), Some(""));
        assert_eq!(extract_channel_id("https://a/b?xchannel_id=5"), None);
        assert_eq!(extract_channel_id("https://a/b?q=1"), None);
    }
}
