// Package registrytest runs Debian's real docker-registry (distribution
// 2.8) for tests: on 127.0.0.1 at a free port, with its storage in a test
// temporary directory, plain, with htpasswd basic auth, or with TLS from a
// self-signed certificate. Stop and Restart kill and bring back the process
// on the same port and storage, for fault tests.
//
// Start installs the docker-registry package through apt when it is missing
// and the test runs as root; otherwise the test is skipped, or fails when
// CI=true. It is a test helper, not a promise: its API may change.
package registrytest
