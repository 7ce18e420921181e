// A kafkajs consumer-group member: joins <group>, consumes <count> messages of <topic> from
// the earliest offset, commits what it read (OffsetCommit), leaves (LeaveGroup), and prints
// {"values": [...]} as its last line.
// Usage: node consume.js <bootstrap> <topic> <group> <count>
'use strict';
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [bootstrap, topic, groupId, countText] = process.argv.slice(2);
  const count = parseInt(countText, 10);
  const kafka = new Kafka({
    clientId: 'sluice-it-kafkajs',
    brokers: bootstrap.split(','),
    logLevel: logLevel.WARN,
    retry: { retries: 10 },
  });
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 });
  const values = [];
  const next = {}; // partition -> next offset to commit
  let finish;
  const done = new Promise((resolve) => { finish = resolve; });
  const timer = setTimeout(() => finish(new Error(`timed out with ${values.length} of ${count}`)),
    90000);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      values.push(message.value.toString());
      next[partition] = (BigInt(message.offset) + 1n).toString();
      if (values.length >= count) finish(null);
    },
  });
  const err = await done;
  clearTimeout(timer);
  if (!err) {
    await consumer.commitOffsets(Object.entries(next).map(([partition, offset]) =>
      ({ topic, partition: Number(partition), offset })));
  }
  await consumer.disconnect();
  if (err) throw err;
  console.log(JSON.stringify({ values }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
