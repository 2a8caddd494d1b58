// Package eos holds Gregor's end-to-end tests of exactly-once semantics: transactional
// producers, the transaction coordinator, transaction markers in data partitions and in
// __consumer_offsets, and read_committed consumers, exercised together by real franz-go
// clients against real nodes. It has no code of its own; the tests are the package.
//
// The exactly-once copy test runs its copier as a child process (the test binary started
// again with EOS_COPIER_ADDR set, dispatched in TestMain) so that it can be killed with
// SIGKILL mid-transaction, as a crashing application would be.
package eos
