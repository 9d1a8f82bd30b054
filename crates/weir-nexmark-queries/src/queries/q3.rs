//! Q3, local item suggestion: who is selling in OR, ID or CA in category 10, and
//! for what auction ids? A regular (unwindowed) join of auctions and persons.
//!
//! ```sql
//! SELECT P.name, P.city, P.state, A.id
//! FROM auction AS A INNER JOIN person AS P on A.seller = P.id
//! WHERE A.category = 10 and (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA');
//! ```
//!
//! Both inputs are insert-only, so the join's result is insert-only too (Flink's
//! planner emits only `+I` rows for it): plain rows, no [`Change`](crate::Change)s.
//! A keyed process on the seller id keeps the person (name, city, state) and the
//! ids of auctions that came before their seller, like Flink's join state.

use serde::{Deserialize, Serialize};
use weir::prelude::*;
use weir_nexmark::Event;

/// A row of Q3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Q3Row {
    /// The seller's name.
    pub name: String,
    /// The seller's city.
    pub city: String,
    /// The seller's state.
    pub state: String,
    /// The auction.
    pub id: i64,
}

/// A seller in OR, ID or CA.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Seller {
    id: i64,
    name: String,
    city: String,
    state: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Side {
    Seller(Seller),
    /// An auction of category 10: (id, seller).
    Auction(i64, i64),
}

/// The join state of one person id.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Joined {
    seller: Option<Seller>,
    /// Auctions that came before their seller.
    waiting: Vec<i64>,
}

fn row(seller: &Seller, id: i64) -> Q3Row {
    Q3Row {
        name: seller.name.clone(),
        city: seller.city.clone(),
        state: seller.state.clone(),
        id,
    }
}

#[derive(Clone)]
struct Join {
    state: ValueStateDescriptor<Joined>,
}

impl KeyedProcessFunction<i64, Side, Q3Row> for Join {
    fn process_element(
        &mut self,
        value: Side,
        ctx: &mut KeyedContext<'_, i64>,
        out: &mut Collector<'_, Q3Row>,
    ) -> Result<(), BoxError> {
        let mut state = ctx.value(&self.state)?;
        match value {
            Side::Seller(seller) => {
                let waiting = state.take()?.map(|j| j.waiting).unwrap_or_default();
                for id in waiting {
                    out.collect(row(&seller, id));
                }
                state.set(Joined {
                    seller: Some(seller),
                    waiting: Vec::new(),
                })?;
            }
            Side::Auction(id, _) => {
                state.modify(|joined| match joined {
                    Some(Joined {
                        seller: Some(seller), ..
                    }) => {
                        out.collect(row(seller, id));
                        None
                    }
                    Some(joined) => {
                        joined.waiting.push(id);
                        None
                    }
                    None => Some(Joined {
                        seller: None,
                        waiting: vec![id],
                    }),
                })?;
            }
        }
        Ok(())
    }
}

/// Builds Q3 on `events`.
pub fn build(events: &DataStream<Event>) -> DataStream<Q3Row> {
    events
        .flat_map(|event: Event| match event {
            Event::Person(p) if matches!(p.state.as_str(), "OR" | "ID" | "CA") => Some(Side::Seller(Seller {
                id: p.id,
                name: p.name,
                city: p.city,
                state: p.state,
            })),
            Event::Auction(a) if a.category == 10 => Some(Side::Auction(a.id, a.seller)),
            _ => None,
        })
        .name("q3: sellers in OR, ID, CA and auctions of category 10")
        .key_by(|side: &Side| match side {
            Side::Seller(s) => s.id,
            Side::Auction(_, seller) => *seller,
        })
        .process(Join {
            state: ValueStateDescriptor::new("seller and waiting auctions"),
        })
        .name("q3: join on seller")
}
