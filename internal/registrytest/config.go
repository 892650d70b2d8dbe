package registrytest

import (
	"fmt"
	"os"
)

// Config is what a docker-registry configuration file says: the one Start
// writes, and the bench's registries'.
type Config struct {
	// Storage is the storage root directory.
	Storage string
	// Addr is the host:port the registry listens on.
	Addr string
	// CertFile and KeyFile, when set, make it serve HTTPS with them.
	CertFile, KeyFile string
	// Htpasswd, when set, is the htpasswd file of its basic auth.
	Htpasswd string
	// AccessLog, when set, has it log every request on stdout, in the
	// combined log format.
	AccessLog bool
}

// WriteConfig writes c to file as docker-registry's YAML configuration:
// warnings only and no access log unless c.AccessLog, deletes enabled, no
// upload purging (a registry restarted on its storage keeps what it
// held).
func WriteConfig(file string, c Config) error {
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog: {disabled: %t}
storage:
  filesystem: {rootdirectory: %q}
  delete: {enabled: true}
  maintenance:
    uploadpurging: {enabled: false}
http:
  addr: %q
  secret: registrytest
`, !c.AccessLog, c.Storage, c.Addr)
	if c.CertFile != "" {
		cfg += fmt.Sprintf("  tls: {certificate: %q, key: %q}\n", c.CertFile, c.KeyFile)
	}
	if c.Htpasswd != "" {
		cfg += fmt.Sprintf("auth:\n  htpasswd: {realm: registrytest, path: %q}\n", c.Htpasswd)
	}
	return os.WriteFile(file, []byte(cfg), 0o644)
}
