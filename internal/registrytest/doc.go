// Package registrytest runs Debian's real docker-registry (distribution
// 2.8) for tests: on 127.0.0.1 at a free port, with its storage in a test
// temporary directory, plain, with htpasswd basic auth, or with TLS from a
// self-signed certificate. Stop and Restart kill and bring back the process
// on the same port and storage, for fault tests. NewNetwork makes a private
// network of two network namespaces, and InNetNS runs the registry inside
// one of them, at an address that is not loopback. Its access log is in
// Log, and BlobGETs counts the fetches of one blob in it. WriteConfig
// writes the registry's configuration file, for the bench's registries
// too.
//
// When docker-registry is missing, Start skips the test, or fails it when
// CI=true (hack/deps.sh installs it). It is a test helper, not a promise:
// its API may change.
package registrytest
