// Package compat holds the compatibility tests: real Gregor nodes driven by the clients
// people use, outside Go — kcat (librdkafka) and kafka-python. The package has no code of
// its own; the tests are in compat_test.go and the client scripts in testdata/.
package compat
