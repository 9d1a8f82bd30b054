#!/usr/bin/env python3
"""What the Kafka broker of scripts/services.sh (tansu) does with transactions.

Not a test: it prints one line per behaviour, which docs/services.md records, so
that the findings can be checked again when the broker's version changes.

    python3 -m venv /tmp/kprobe
    /tmp/kprobe/bin/pip install confluent-kafka kafka-python
    scripts/services.sh up kafka
    /tmp/kprobe/bin/python scripts/kafka-transactions-probe.py 127.0.0.1:19092

confluent-kafka (librdkafka) is the producer and consumer; kafka-python asks for
the admin APIs that confluent-kafka lacks (ListTransactions, DescribeTransactions).
"""

import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

BROKERS = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:19092"
RUN = uuid.uuid4().hex[:8]


def report(what, result):
    print(f"{what}: {result}", flush=True)


def new_topic(name):
    admin = AdminClient({"bootstrap.servers": BROKERS})
    for future in admin.create_topics([NewTopic(name, 1, 1)]).values():
        future.result()
    return name


def read_all(topic, isolation, seconds=4.0):
    """Values from offset 0 under an isolation level, and the end offset it sees."""
    consumer = Consumer(
        {
            "bootstrap.servers": BROKERS,
            "group.id": f"probe-read-{RUN}",
            "isolation.level": isolation,
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    values = []
    deadline = time.time() + seconds
    while time.time() < deadline:
        message = consumer.poll(0.2)
        if message is not None and not message.error():
            values.append(message.value().decode())
    _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), 5)
    consumer.close()
    return values, high


def transactional_producer(tid, **extra):
    producer = Producer({"bootstrap.servers": BROKERS, "transactional.id": tid, **extra})
    producer.init_transactions(10)
    return producer


def committed_and_aborted():
    topic = new_topic(f"probe-abort-{RUN}")
    producer = transactional_producer(f"probe-abort-{RUN}")
    producer.begin_transaction()
    producer.produce(topic, value=b"committed-1")
    producer.commit_transaction(10)
    producer.begin_transaction()
    producer.produce(topic, value=b"aborted")
    producer.flush()
    producer.abort_transaction(10)
    producer.begin_transaction()
    producer.produce(topic, value=b"committed-2")
    producer.commit_transaction(10)
    report("transactions (init/begin/produce/commit/abort)", "work")
    for isolation in ("read_committed", "read_uncommitted"):
        values, high = read_all(topic, isolation)
        report(f"{isolation} after commit, abort, commit", f"{values} (end offset {high})")


def open_transaction():
    topic = new_topic(f"probe-open-{RUN}")
    producer = transactional_producer(f"probe-open-{RUN}")
    producer.begin_transaction()
    producer.produce(topic, value=b"open")
    producer.flush()
    for isolation in ("read_committed", "read_uncommitted"):
        values, high = read_all(topic, isolation)
        report(f"{isolation} with a transaction open", f"{values} (end offset {high})")
    producer.abort_transaction(10)


def fencing():
    topic = new_topic(f"probe-fence-{RUN}")
    tid = f"probe-fence-{RUN}"
    zombie = transactional_producer(tid)
    zombie.begin_transaction()
    zombie.produce(topic, value=b"zombie")
    zombie.flush()
    transactional_producer(tid)
    try:
        zombie.produce(topic, value=b"zombie-2")
        zombie.commit_transaction(10)
        report("init_transactions fencing", "NOT fenced: the older producer committed")
    except KafkaException as error:
        report("init_transactions fencing", f"older producer gets {error.args[0].name()}")
    values, _ = read_all(topic, "read_committed", 2)
    report("read_committed after the fenced transaction", values)


def abandoned_transaction():
    topic = new_topic(f"probe-timeout-{RUN}")
    tid = f"probe-timeout-{RUN}"
    producer = transactional_producer(tid, **{"transaction.timeout.ms": 2000})
    producer.begin_transaction()
    producer.produce(topic, value=b"abandoned")
    producer.flush()
    # The producer is then left alone, as by a process that died.
    time.sleep(6)
    _, high = read_all(topic, "read_committed", 1)
    report("read_committed end offset 6 s after a 2 s transaction.timeout.ms", high)
    transactional_producer(tid)
    _, high = read_all(topic, "read_committed", 1)
    report("read_committed end offset after a new producer's init_transactions", high)


def offsets_in_transaction():
    topic = new_topic(f"probe-offsets-{RUN}")
    plain = Producer({"bootstrap.servers": BROKERS})
    for i in range(5):
        plain.produce(topic, value=b"%d" % i)
    plain.flush()
    group = f"probe-group-{RUN}"
    consumer = Consumer(
        {
            "bootstrap.servers": BROKERS,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    started = time.time()
    while not consumer.assignment() and time.time() - started < 60:
        consumer.poll(0.2)
    report("consumer group join (subscribe until assigned)", f"{time.time() - started:.1f} s")
    producer = transactional_producer(f"probe-offsets-{RUN}")
    producer.begin_transaction()
    producer.produce(topic, value=b"out")
    producer.send_offsets_to_transaction(
        [TopicPartition(topic, 0, 3)], consumer.consumer_group_metadata(), 10
    )
    producer.commit_transaction(10)
    committed = consumer.committed([TopicPartition(topic, 0)], 10)
    report("send_offsets_to_transaction then commit: group offset", committed[0].offset)
    consumer.close()


def group_join_time():
    topic = new_topic(f"probe-join-{RUN}")
    for session_timeout_ms in (45000, 6000, 2000):
        consumer = Consumer(
            {
                "bootstrap.servers": BROKERS,
                "group.id": f"probe-join-{session_timeout_ms}-{RUN}",
                "session.timeout.ms": session_timeout_ms,
            }
        )
        consumer.subscribe([topic])
        started = time.time()
        while not consumer.assignment() and time.time() - started < 60:
            consumer.poll(0.1)
        report(
            f"group join with session.timeout.ms={session_timeout_ms}",
            f"{time.time() - started:.1f} s",
        )
        consumer.close()


def admin_apis():
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=BROKERS, request_timeout_ms=10000)
    for name, call in (
        ("list_transactions", lambda: admin.list_transactions()),
        ("describe_transactions", lambda: admin.describe_transactions([f"probe-open-{RUN}"])),
    ):
        try:
            report(name, call())
        except Exception as error:  # the point is to see what the broker answers
            report(name, f"{type(error).__name__}: {error}")
    versions = admin.api_versions()
    report("APIs the broker lists", ", ".join(sorted(key.name for key in versions)))
    admin.close()


def auto_create():
    producer = Producer({"bootstrap.servers": BROKERS})
    producer.produce(f"probe-auto-{RUN}", value=b"x")
    report("produce to a topic that does not exist (messages undelivered)", producer.flush(10))


if __name__ == "__main__":
    committed_and_aborted()
    open_transaction()
    fencing()
    abandoned_transaction()
    offsets_in_transaction()
    group_join_time()
    admin_apis()
    auto_create()
