// Package acceptance holds the cluster acceptance tests: real `gregor serve` processes on
// loopback, killed (-9), paused (SIGSTOP) and stopped (SIGTERM) while real franz-go clients
// produce and consume, with a final check of what was acknowledged against what can be read.
//
// The package has no code of its own; its tests build cmd/gregor (clustertest.Binary) and
// are skipped under -short.
package acceptance
