"""Produces and consumes records over a SASL_PLAINTEXT OAUTHBEARER listener using kafka-python.

Usage: oauth_roundtrip.py BOOTSTRAP TOPIC COUNT TOKEN
TOKEN is the signed JWT the client presents. Prints the values consumed, one a line.
"""
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.oauth.abstract import AbstractTokenProvider

bootstrap, topic, count, token = sys.argv[1:5]
count = int(count)


class Token(AbstractTokenProvider):
    def token(self):
        return token


security = {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "OAUTHBEARER",
            "sasl_oauth_token_provider": Token()}

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
