"""Consumes a topic as a member of a consumer group with kafka-python and commits its offsets.

Usage: group_consume.py BOOTSTRAP TOPIC GROUP COUNT
Prints the number of records consumed once it has consumed COUNT and committed them.
"""
import sys

from kafka import KafkaConsumer

bootstrap, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

consumer = KafkaConsumer(
    topic,
    bootstrap_servers=bootstrap,
    group_id=group,
    auto_offset_reset="earliest",
    enable_auto_commit=False,
    consumer_timeout_ms=30000,
)
seen = 0
for msg in consumer:
    seen += 1
    if seen == count:
        break
consumer.commit()
consumer.close()
print(seen, flush=True)
