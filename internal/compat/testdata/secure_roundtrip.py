"""Produces and consumes records over a secured Gregor listener using kafka-python.

Usage: secure_roundtrip.py BOOTSTRAP TOPIC COUNT PROTOCOL MECHANISM USER PASSWORD CAFILE
PROTOCOL is kafka-python's security_protocol (SASL_PLAINTEXT, SASL_SSL, SSL); MECHANISM its
sasl_mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), "-" for none; CAFILE "-" for none.
Prints the values consumed, one a line.
"""
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

bootstrap, topic, count, protocol, mechanism, user, password, cafile = sys.argv[1:9]
count = int(count)
security = {"security_protocol": protocol}
if mechanism != "-":
    security.update(sasl_mechanism=mechanism, sasl_plain_username=user, sasl_plain_password=password)
if cafile != "-":
    security.update(ssl_cafile=cafile)

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", **security)
futures = [producer.send(topic, value=b"v%d" % i, partition=0) for i in range(count)]
producer.flush()
for f in futures:
    f.get(timeout=30)
producer.close()

consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                         consumer_timeout_ms=20000, **security)
tp = TopicPartition(topic, 0)
consumer.assign([tp])
consumer.seek_to_beginning(tp)
seen = 0
for msg in consumer:
    print(msg.value.decode())
    seen += 1
    if seen == count:
        break
consumer.close()
