#![allow(missing_docs, clippy::unwrap_used)]
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::sync::{Arc, Mutex};
use std::time::Duration;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (mode, topic) = (a[1].as_str(), a[2].clone());
    let bs: &'static str = "127.0.0.1:19192";
    let t = Duration::from_secs(10);
    let ids: Vec<String> = ["0-0", "0-1", "1-0", "1-1"]
        .iter()
        .map(|s| format!("{topic}-{s}"))
        .collect();
    let consumer = move |id: &str| -> BaseConsumer {
        ClientConfig::new()
            .set("bootstrap.servers", bs)
            .set("group.id", format!("{id}-marker"))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .create()
            .unwrap()
    };
    match mode {
        "create" => {
            let admin: AdminClient<DefaultClientContext> =
                ClientConfig::new().set("bootstrap.servers", bs).create().unwrap();
            futures::executor::block_on(admin.create_topics(
                &[NewTopic::new(&topic, 3, TopicReplication::Fixed(1))],
                &AdminOptions::new(),
            ))
            .unwrap();
        }
        "run" => {
            let lock = Arc::new(Mutex::new(()));
            let kill_after: usize = a[3].parse().unwrap();
            let mut handles = vec![];
            for w in 0..2 {
                let (topic, ids, lock, a) = (topic.clone(), ids.clone(), lock.clone(), a.clone());
                let consumer = consumer;
                handles.push(std::thread::spawn(move || {
                    let mk = |id: &str| -> BaseProducer {
                        let p: BaseProducer = ClientConfig::new()
                            .set("bootstrap.servers", bs)
                            .set("transactional.id", id)
                            .set("enable.idempotence", "true")
                            .set("transaction.timeout.ms", "900000")
                            .create()
                            .unwrap();
                        p.init_transactions(t).unwrap();
                        p
                    };
                    let ps = [mk(&ids[w * 2]), mk(&ids[w * 2 + 1])];
                    let cs = [consumer(&ids[w * 2]), consumer(&ids[w * 2 + 1])];
                    ps[0].begin_transaction().unwrap();
                    let writers: usize = a[4].parse().unwrap();
                    if w >= writers {
                        return;
                    }
                    let overlap = a[5] == "overlap";
                    for n in 1..100usize {
                        let cur = (n - 1) % 2;
                        let next = n % 2;
                        for k in 0..50 {
                            ps[cur]
                                .send(BaseRecord::to(&topic).partition(k % 3).key("k").payload("v"))
                                .unwrap();
                            ps[cur].poll(Duration::ZERO);
                        }
                        ps[cur].flush(t).unwrap(); // pre-commit
                        if overlap {
                            ps[next].begin_transaction().unwrap();
                            for k in 0..10 {
                                ps[next]
                                    .send(BaseRecord::to(&topic).partition(k % 3).key("k").payload("w"))
                                    .unwrap();
                            }
                        }
                        {
                            let _g = lock.lock().unwrap();
                            let mut tpl = TopicPartitionList::new();
                            tpl.add_partition_offset(&topic, 0, Offset::Offset(n as i64)).unwrap();
                            ps[cur]
                                .send_offsets_to_transaction(&tpl, &cs[cur].group_metadata().unwrap(), t)
                                .unwrap();
                            ps[cur].commit_transaction(t).unwrap();
                            eprintln!("writer {w} committed {n} on {}", ids[w * 2 + cur]);
                        }
                        if !overlap {
                            ps[next].begin_transaction().unwrap();
                        }
                        if n == kill_after {
                            std::thread::sleep(Duration::from_millis(30));
                            if a[6] == "kill" {
                                std::process::abort();
                            } else {
                                std::process::exit(0);
                            }
                        }
                    }
                }));
            }
            for h in handles {
                h.join().unwrap();
            }
        }
        _ => {
            for id in &ids {
                let c = consumer(id);
                let mut q = TopicPartitionList::new();
                q.add_partition(&topic, 0);
                println!("{id}: {:?}", c.committed_offsets(q, t).unwrap().elements()[0].offset());
            }
        }
    }
}
