"""Round-trips keyed records with headers through Gregor using kafka-python.

Usage: roundtrip.py BOOTSTRAP TOPIC COUNT [COMPRESSION]
COMPRESSION is kafka-python's compression_type: gzip, snappy, lz4 or zstd (default none).
Prints one JSON object per consumed record: offset, key, value, headers.
With COMPRESSION each value is "v<i> " followed by 200 "x": kafka-python sends a batch
uncompressed when compressing does not make it smaller, which a batch of one short record can
be; this value always shrinks.
"""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
compression = sys.argv[4] if len(sys.argv) > 4 else None
padding = b" " + b"x" * 200 if compression else b""

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, compression_type=compression)
futures = [
    producer.send(topic, key=b"k%d" % i, value=b"v%d" % i + padding, headers=[("h", b"%d" % i)], partition=0)
    for i in range(count)
]
producer.flush()
for f in futures:
    f.get(timeout=30)
producer.close()

consumer = KafkaConsumer(
    bootstrap_servers=bootstrap,
    group_id=None,
    enable_auto_commit=False,
    consumer_timeout_ms=20000,
)
tp = TopicPartition(topic, 0)
consumer.assign([tp])
consumer.seek_to_beginning(tp)
seen = 0
for msg in consumer:
    print(json.dumps({
        "offset": msg.offset,
        "key": msg.key.decode(),
        "value": msg.value.decode(),
        "headers": [[k, v.decode()] for k, v in msg.headers],
    }), flush=True)
    seen += 1
    if seen == count:
        break
consumer.close()
