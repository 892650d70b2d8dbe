package build

import (
	"context"
	"fmt"
)

// placeholders writes the empty files jailimg run mounts on at start, so
// that it never has to create anything in the read-only jail: /dev/log
// for run.syslog (the socket of jailimg's relay is bound on it) and each
// of run.hostfiles (the host's file is bound on it, read-only). Each is an
// empty regular file, mode 0444, owned by root.
func (b *builder) placeholders(context.Context) error {
	r := b.r
	type placeholder struct{ path, key string }
	var ps []placeholder
	if r.Run.Syslog {
		ps = append(ps, placeholder{"/dev/log", "run.syslog"})
	}
	for i, h := range r.Run.Hostfiles {
		ps = append(ps, placeholder{h, fmt.Sprintf("run.hostfiles[%d]", i)})
	}
	for _, p := range ps {
		e := generated(p.path, 0o444, "", "")
		e.Source = r.Where(p.key) + " (placeholder jailimg run mounts on)"
		if err := b.t.Add(e); err != nil {
			return err
		}
	}
	return nil
}
